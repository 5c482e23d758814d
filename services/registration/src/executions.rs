//! An actor's executions: the list with totals, one execution, its logs, and force-quit.

use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel},
    records::child_key,
    store::Table,
    time,
};

use crate::RegistrationService;

/// How long a force-quit waits for the execution's final record.
const FORCE_QUIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl RegistrationService {
    /// A page of an actor's executions, in the order they were accepted (as abaco lists
    /// them), with the count of all of them; reads only the page.
    pub(crate) async fn executions(
        &self,
        request: &pb::ListExecutionsRequest,
        caller: &Caller,
    ) -> Result<pb::ExecutionSummary> {
        let actor = self
            .access
            .actor(caller, &request.actor_id, PermissionLevel::Read)
            .await?
            .actor;
        let limit = match usize::try_from(request.limit).unwrap_or(usize::MAX) {
            0 => self.limits.list_page_size,
            asked => asked.min(self.limits.list_page_max),
        };
        let skip = usize::try_from(request.skip).unwrap_or(usize::MAX);
        let cursor = Some(request.cursor.as_str()).filter(|c| !c.is_empty());
        let records = self.records();
        let page = records
            .executions_page(&actor.id, cursor, skip, limit)
            .await?;
        let mut summary = pb::ExecutionSummary {
            total_executions: records.count_executions(&actor.id).await?,
            actor_id: actor.id,
            owner: actor.owner,
            next_cursor: page.next_cursor.unwrap_or_default(),
            ..Default::default()
        };
        for execution in &page.executions {
            summary.total_runtime += execution.runtime;
            summary.total_cpu += execution.cpu;
            summary.total_io += execution.io;
        }
        summary.executions = page.executions;
        Ok(summary)
    }

    /// The actor and one of its executions, if the caller may act on the actor at `need`.
    pub(crate) async fn execution(
        &self,
        request: &pb::GetExecutionRequest,
        caller: &Caller,
        need: PermissionLevel,
    ) -> Result<(pb::Actor, pb::Execution)> {
        let actor = self
            .access
            .actor(caller, &request.actor_id, need)
            .await?
            .actor;
        let execution = self.current(&actor.id, &request.execution_id).await?;
        Ok((actor, execution))
    }

    pub(crate) async fn current(
        &self,
        actor_id: &str,
        execution_id: &str,
    ) -> Result<pb::Execution> {
        self.records()
            .get(Table::Executions, &child_key(actor_id, execution_id))
            .await?
            .ok_or_else(|| AbacoError::not_found("execution", execution_id))
    }

    pub(crate) async fn logs(
        &self,
        request: &pb::GetExecutionRequest,
        caller: &Caller,
    ) -> Result<pb::ExecutionLogs> {
        let (actor, execution) = self
            .execution(request, caller, PermissionLevel::Read)
            .await?;
        let logs = self
            .records()
            .get_blob(Table::Logs, &child_key(&actor.id, &execution.id))
            .await?
            .unwrap_or_default();
        Ok(pb::ExecutionLogs {
            execution_id: execution.id,
            logs: String::from_utf8_lossy(&logs).into_owned(),
            actor_id: actor.id,
        })
    }

    /// Cancels a queued execution, or has its worker end a running one, then waits briefly
    /// for the final record so the caller sees the outcome.
    pub(crate) async fn force_quit(
        &self,
        request: &pb::GetExecutionRequest,
        caller: &Caller,
    ) -> Result<pb::Execution> {
        let (actor, execution) = self
            .execution(request, caller, PermissionLevel::Update)
            .await?;
        self.quit(&actor.id, execution).await
    }

    async fn quit(&self, actor_id: &str, execution: pb::Execution) -> Result<pb::Execution> {
        let key = child_key(actor_id, &execution.id);
        match execution.status() {
            pb::ExecutionStatus::Complete | pb::ExecutionStatus::Error => Err(
                AbacoError::Conflict(format!("execution {} has already finished", execution.id)),
            ),
            pb::ExecutionStatus::Submitted | pb::ExecutionStatus::Unspecified => {
                // A worker that takes the message later finds it final and acks it unrun.
                let cancelled = self
                    .records()
                    .update(Table::Executions, &key, |e: &mut pb::Execution| {
                        if e.status() != pb::ExecutionStatus::Submitted {
                            return Ok(false);
                        }
                        e.set_status(pb::ExecutionStatus::Error);
                        e.status_message = "cancelled before it ran (force-quit)".into();
                        e.finish_time = time::now();
                        Ok(true)
                    })
                    .await?;
                if cancelled.status() == pb::ExecutionStatus::Running {
                    return Box::pin(self.quit(actor_id, cancelled)).await;
                }
                Ok(cancelled)
            }
            pb::ExecutionStatus::Running => {
                if !self.fleet.force_quit(&execution).await? {
                    // Finished meanwhile, or its worker is gone (then the run comes back to
                    // another worker, which a later force-quit reaches).
                    let current = self.current(actor_id, &execution.id).await?;
                    if abaco::status::execution_is_final(current.status()) {
                        return Ok(current);
                    }
                    return Err(AbacoError::Conflict(format!(
                        "execution {} is not running on a live worker",
                        execution.id
                    )));
                }
                let deadline = tokio::time::Instant::now() + FORCE_QUIT_WAIT;
                loop {
                    let current = self.current(actor_id, &execution.id).await?;
                    if abaco::status::execution_is_final(current.status())
                        || tokio::time::Instant::now() > deadline
                    {
                        return Ok(current);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}
