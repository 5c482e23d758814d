//! A delivered message whose execution record is not in the store. A fresh message is
//! published while its record goes in, so the record may simply not be there yet: the worker
//! looks again for a while (counted from the message's acceptance). A record that never comes
//! belongs to a send that failed or was refused; the message is put aside as a dead letter,
//! unless its actor is being deleted (then the deletion removes it with the mailbox).

use std::time::Duration;

use abaco::{mailbox::Delivery, pb};
use chrono::Utc;
use tokio::time::Instant;

use super::{Flow, WorkerContext, WorkerError, give_back, records, settle};

/// The first pause before looking for the record again; doubled after each look.
const FIRST_LOOK: Duration = Duration::from_millis(2);

/// How long a worker still looks for one message's record.
#[derive(Debug)]
pub(super) struct RecordWait {
    deadline: Instant,
    pause: Duration,
}

impl RecordWait {
    /// Looking until `wait` after `message` was accepted, and never longer than `wait` from
    /// now (the sender's clock may be ahead of this host's).
    pub(super) fn new(message: &pb::MailboxMessage, wait: Duration) -> Self {
        let age = abaco::time::parse(&message.received_time)
            .and_then(|accepted| (Utc::now() - accepted).to_std().ok())
            .unwrap_or_default();
        Self {
            deadline: Instant::now() + wait.saturating_sub(age),
            pause: FIRST_LOOK,
        }
    }

    /// Pauses before the next look, each pause longer up to `longest`; `false` once the
    /// wait is over.
    pub(super) async fn pause(&mut self, longest: Duration) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(longest.max(FIRST_LOOK));
        true
    }
}

/// The record never came: the message is kept for its owner to see, as a dead letter, or
/// handed back when its actor is being deleted.
pub(super) async fn put_aside(
    ctx: &WorkerContext,
    delivery: Delivery,
    message: &pb::MailboxMessage,
) -> Result<Flow, WorkerError> {
    match records::actor_takes_messages(&ctx.records, ctx.actor_id()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(actor = ctx.actor_id(), execution = %message.execution_id, "no record, and the actor is being deleted; message handed back, worker stops");
            settle(delivery.reject(true).await);
            return Ok(Flow::Stop);
        }
        Err(error) => return give_back(ctx, delivery, error).await,
    }
    let raw = delivery.body.clone();
    let kept = records::dead_letter(
        &ctx.records,
        ctx.actor_id(),
        &message.execution_id,
        records::NO_RECORD,
        &raw,
        Some(message),
        ctx.settings.persist,
    )
    .await;
    if let Err(error) = kept {
        return give_back(ctx, delivery, error).await;
    }
    tracing::warn!(execution = %message.execution_id, "message without an execution record put aside as a dead letter");
    settle(delivery.ack().await);
    Ok(Flow::Continue)
}
