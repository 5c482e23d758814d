//! Executions that can no longer finish on their own.
//!
//! A RUNNING execution whose worker died is normally run again: the broker hands its unacked
//! message to another worker at once. Only when that did not happen, long after, is it stuck:
//! no live worker has it and nothing waits in the mailbox. The same holds for a SUBMITTED
//! execution whose message is gone (the mailbox was purged, or a crashed broker came back
//! without it). Both end ERROR with the reason,
//! so that every accepted message ends visibly.

use std::{collections::HashSet, pin::pin};

use abaco::{Result, pb, time};
use abaco_events::EventType;
use futures::TryStreamExt;

use crate::HealthChecker;

impl HealthChecker {
    /// Ends the stuck ones among the executions not yet ended (read a batch at a time, and
    /// nothing else); how many it ended, and how many records it read.
    pub(crate) async fn end_stuck_executions(
        &self,
        live_workers: &[pb::Worker],
    ) -> Result<(usize, usize)> {
        let (mut ended, mut read) = (0, 0);
        let mut pages = pin!(self.records.open_pages(None, self.settings.sweep_batch));
        while let Some(open) = pages.try_next().await? {
            read += open.len();
            ended += self.end_stuck(live_workers, &open).await?;
        }
        Ok((ended, read))
    }

    async fn end_stuck(
        &self,
        live_workers: &[pb::Worker],
        executions: &[pb::Execution],
    ) -> Result<usize> {
        let live: HashSet<&str> = live_workers.iter().map(|w| w.id.as_str()).collect();
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
                    "the message left the mailbox without running (purged, or lost by the broker)"
                        .to_string()
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
            // Judged on the record as read: a live worker that claimed it since (same status,
            // another owner) is running it, and its record must stand.
            match self.records.end_swept(execution, &reason).await {
                Ok(Some(e)) => {
                    tracing::warn!(execution = %execution.id, %reason, "stuck execution ended");
                    ended += 1;
                    self.tell_end(&e).await;
                }
                Ok(None) => {}
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
