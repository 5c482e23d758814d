//! Following an execution's logs: from the first line while the run goes, straight from the
//! worker running it, then whatever the stored logs hold beyond what was sent (a notice added
//! at the end, or everything when the run was over before the follow began), and a last chunk
//! with the final status. A run that has not started yet is waited for.

use std::pin::Pin;

use abaco::{
    Result, pb,
    pb::{ExecutionStatus, PermissionLevel},
    records::child_key,
    status,
    store::Table,
};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::RegistrationService;

/// The stream a follow answers with.
pub(crate) type Follow =
    Pin<Box<dyn Stream<Item = std::result::Result<pb::LogChunk, Status>> + Send>>;

type Sender = mpsc::Sender<std::result::Result<pb::LogChunk, Status>>;

impl RegistrationService {
    pub(crate) async fn follow(
        &self,
        request: pb::GetExecutionRequest,
        caller: &abaco::identity::Caller,
    ) -> Result<Follow> {
        let (actor, execution) = self
            .execution(&request, caller, PermissionLevel::Read)
            .await?;
        let (tx, rx) = mpsc::channel(16);
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(error) = this.pass_on(&actor.id, execution, &tx).await {
                let _ = tx.send(Err(error.into())).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn pass_on(
        &self,
        actor_id: &str,
        mut execution: pb::Execution,
        tx: &Sender,
    ) -> Result<()> {
        let mut sent = 0;
        let mut followed = false;
        loop {
            if tx.is_closed() {
                return Ok(());
            }
            match execution.status() {
                ExecutionStatus::Complete | ExecutionStatus::Error => break,
                ExecutionStatus::Running if !followed => {
                    match self.fleet.follow_logs(&execution).await? {
                        Some(mut live) => {
                            followed = true;
                            while let Some(text) = live.next().await {
                                let Ok(text) = text else { break };
                                sent += text.len();
                                if !send(tx, text).await {
                                    return Ok(());
                                }
                            }
                        }
                        // Its worker is only about to start it: ask again shortly.
                        None => tokio::time::sleep(self.follow_poll).await,
                    }
                }
                _ => tokio::time::sleep(self.follow_poll).await,
            }
            let previous = execution.worker_id.clone();
            execution = self.current(actor_id, &execution.id).await?;
            // Run again by another worker (its first died): follow that one from the start.
            if execution.worker_id != previous && execution.status() == ExecutionStatus::Running {
                followed = false;
            }
        }
        let stored = self
            .records()
            .get_blob(Table::Logs, &child_key(actor_id, &execution.id))
            .await?
            .unwrap_or_default();
        let stored = String::from_utf8_lossy(&stored);
        if let Some(rest) = stored.get(sent..).filter(|rest| !rest.is_empty())
            && !send(tx, rest.to_owned()).await
        {
            return Ok(());
        }
        let _ = tx
            .send(Ok(pb::LogChunk {
                text: String::new(),
                done: true,
                status: status::execution(execution.status()).to_owned(),
            }))
            .await;
        Ok(())
    }
}

/// Sends one chunk of text; false once the follower is gone.
async fn send(tx: &Sender, text: String) -> bool {
    tx.send(Ok(pb::LogChunk {
        text,
        ..pb::LogChunk::default()
    }))
    .await
    .is_ok()
}
