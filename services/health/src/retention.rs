//! Retention: a finished execution, its logs and its results go once they are older than the
//! `execution_retention_secs` setting (abaco kept them forever). Judged by the store's clock.
//! Each actor's executions are walked in the order they were accepted, and the walk stops at
//! the first one accepted within the retention: nothing younger can have ended before it.

use abaco::{Result, pb, store::Table, time};

use crate::HealthChecker;

impl HealthChecker {
    /// Removes the finished executions that ended longer ago than the retention; how many
    /// went, and how many records it read.
    pub(crate) async fn remove_expired(&self) -> Result<(usize, usize)> {
        let Some(retention) = self.settings.retention else {
            return Ok((0, 0));
        };
        let now = self.records.now().await?;
        let cutoff_ms = u64::try_from(now.timestamp_millis())
            .unwrap_or(0)
            .saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        let (mut removed, mut read) = (0, 0);
        for actor in &actors {
            let mut after = None;
            loop {
                let (ordered, next) = self
                    .records
                    .execution_order(
                        &actor.id,
                        after.as_deref(),
                        (0, self.settings.sweep_batch),
                        Some(cutoff_ms),
                    )
                    .await?;
                for entry in ordered {
                    let Some(execution) = entry.execution else {
                        continue;
                    };
                    read += 1;
                    let finished = abaco::status::execution_is_final(execution.status())
                        // A swept execution may still run if its message turns up: keep it as
                        // long as any other, from when the sweep ended it.
                        && !execution.finish_time.is_empty();
                    if !finished || !time::older_than_at(&execution.finish_time, retention, now) {
                        continue;
                    }
                    // Only as read: a record written since (a swept one revived) is not ours.
                    if self.records.remove_execution(&execution).await? {
                        removed += 1;
                    }
                }
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, "finished executions past their retention removed");
        }
        Ok((removed, read))
    }
}
