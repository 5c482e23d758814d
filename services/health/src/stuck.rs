//! Executions that can no longer finish on their own.
//!
//! A RUNNING execution whose worker died is normally run again: the broker hands its unacked
//! message to another worker at once. Only when that did not happen, long after, is it stuck:
//! no live worker has it and nothing waits in the mailbox. The same holds for a SUBMITTED
//! execution whose message is gone (the mailbox was purged). Both end ERROR with the reason,
//! so that every accepted message ends visibly.

use std::collections::HashSet;

use abaco::{Result, pb, records::child_key, store::Table, time};
use abaco_events::EventType;

use crate::HealthChecker;

impl HealthChecker {
    pub(crate) async fn end_stuck_executions(&self, live_workers: &[pb::Worker]) -> Result<usize> {
        let live: HashSet<&str> = live_workers.iter().map(|w| w.id.as_str()).collect();
        let executions: Vec<pb::Execution> = self.records.list(Table::Executions, "").await?;
        let mut ended = 0;
        for execution in executions {
            let reason = match execution.status() {
                pb::ExecutionStatus::Running if !live.contains(execution.worker_id.as_str()) => {
                    format!(
                        "worker {} was lost while running this execution, and its message did not come back",
                        execution.worker_id
                    )
                }
                pb::ExecutionStatus::Submitted => {
                    "the message left the mailbox without running (purged?)".to_string()
                }
                _ => continue,
            };
            if !time::older_than(&execution.message_received_time, self.settings.stuck_after) {
                continue;
            }
            // A message still waiting (or about to be claimed) will settle the record itself.
            let waiting = self.mailboxes.depth(&execution.actor_id).await.unwrap_or(1);
            if waiting > 0 {
                continue;
            }
            let key = child_key(&execution.actor_id, &execution.id);
            let before = execution.status();
            let outcome = self
                .records
                .update(Table::Executions, &key, |e: &mut pb::Execution| {
                    if e.status() != before {
                        return Ok(false);
                    }
                    e.set_status(pb::ExecutionStatus::Error);
                    e.status_message.clone_from(&reason);
                    e.finish_time = time::now();
                    Ok(true)
                })
                .await;
            match outcome {
                Ok(e) if e.status() == pb::ExecutionStatus::Error => {
                    tracing::warn!(execution = %execution.id, %reason, "stuck execution ended");
                    ended += 1;
                    self.tell_end(&e).await;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(execution = %execution.id, %error, "stuck execution not ended")
                }
            }
        }
        Ok(ended)
    }

    /// Emits the end of an execution ended here. Best effort: a failure is logged.
    async fn tell_end(&self, execution: &pb::Execution) {
        let Some(events) = &self.events else {
            return;
        };
        let told = match self.records.actor(&execution.actor_id).await {
            Ok(actor) => events
                .execution_event(&actor, execution, EventType::ExecutionComplete)
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = told {
            tracing::warn!(execution = %execution.id, %error, "end of a stuck execution not told");
        }
    }
}
