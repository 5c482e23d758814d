//! How many workers each actor has: at least `minWorkers`; more while messages wait, up to
//! `maxWorkers`, several in one pass when the backlog calls for it; fewer once workers have
//! been idle for the idle timeout, down to `minWorkers` (zero included).

use abaco::{Result, pb, store::Table, time};

use crate::{HealthChecker, Report};

/// How many workers an actor should have: `have` of them, `free` of those not running a
/// message (ready, or still starting), and `waiting` messages in its mailbox. A free worker
/// takes a waiting message in a moment, so only messages beyond the free workers are a
/// backlog that earns more workers; otherwise each message sent while its worker is between
/// two runs, or starting, would add a worker.
fn wanted(have: u64, free: u64, waiting: u64, min: u64, max: u64) -> u64 {
    let backlog = waiting.saturating_sub(free);
    if have < min {
        min
    } else if backlog > 0 && have < max {
        max.min(have + backlog)
    } else {
        have
    }
}

/// Whether a worker counts toward its actor's workers.
fn counts(worker: &pb::Worker, actor: &pb::Actor) -> bool {
    worker.actor_id == actor.id
        && worker.revision == actor.revision
        && abaco::status::worker_counts(worker.status())
}

impl HealthChecker {
    pub(crate) async fn scale(
        &self,
        live_workers: &[pb::Worker],
        report: &mut Report,
    ) -> Result<()> {
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        for actor in actors {
            if matches!(
                actor.status(),
                pb::ActorStatus::ShuttingDown | pb::ActorStatus::Error
            ) {
                continue;
            }
            let workers: Vec<&pb::Worker> =
                live_workers.iter().filter(|w| counts(w, &actor)).collect();
            let have = workers.len() as u64;
            let waiting = match self.mailboxes.depth(&actor.id).await {
                Ok(depth) => {
                    metrics::gauge!(abaco::metrics::MAILBOX_DEPTH, "actor" => actor.id.clone())
                        .set(depth as f64);
                    depth
                }
                Err(error) => {
                    tracing::warn!(actor = %actor.id, %error, "mailbox depth unknown; not scaling");
                    continue;
                }
            };
            let min = u64::from(actor.min_workers);
            let max = u64::from(actor.max_workers);
            let free = workers
                .iter()
                .filter(|w| w.status() != pb::WorkerStatus::Busy)
                .count() as u64;
            let want = wanted(have, free, waiting, min, max);
            if want > have {
                let want = u32::try_from(want).unwrap_or(actor.max_workers);
                match self.fleet.ensure_workers(&actor.id, want).await {
                    Ok(_) => {
                        report.workers_started +=
                            usize::try_from(u64::from(want) - have).unwrap_or(0)
                    }
                    Err(error) => {
                        tracing::warn!(actor = %actor.id, %error, "could not start workers")
                    }
                }
            } else if waiting == 0 && have > min {
                report.workers_stopped += self.stop_idle(&actor, &workers, have - min).await;
            }
        }
        Ok(())
    }

    /// Stops up to `surplus` of `workers` that have been idle for the idle timeout.
    async fn stop_idle(&self, actor: &pb::Actor, workers: &[&pb::Worker], surplus: u64) -> usize {
        let idle = workers.iter().filter(|w| {
            let last_busy = if w.last_execution_time.is_empty() {
                &w.create_time
            } else {
                &w.last_execution_time
            };
            w.status() == pb::WorkerStatus::Ready
                && time::older_than(last_busy, self.settings.idle_timeout)
        });
        let mut stopped = 0;
        for worker in idle.take(usize::try_from(surplus).unwrap_or(usize::MAX)) {
            match self.fleet.stop_worker(&actor.id, &worker.id).await {
                Ok(_) => {
                    tracing::info!(actor = %actor.id, worker = %worker.id, "idle worker stopped");
                    stopped += 1;
                }
                Err(error) => {
                    tracing::warn!(worker = %worker.id, %error, "idle worker not stopped")
                }
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn only_messages_beyond_the_free_workers_add_workers() {
        // A message waiting for the one worker, idle between runs or starting: no more.
        assert_eq!(wanted(1, 1, 1, 1, 10), 1);
        // The one worker is busy: the message is a backlog.
        assert_eq!(wanted(1, 0, 1, 1, 10), 2);
        // Fifty waiting, one worker starting: up to the maximum.
        assert_eq!(wanted(1, 1, 50, 0, 4), 4);
        // Three beyond two free workers of five.
        assert_eq!(wanted(5, 2, 5, 1, 10), 8);
        // Below the minimum, whatever waits.
        assert_eq!(wanted(0, 0, 0, 2, 10), 2);
        // At the maximum, nothing more.
        assert_eq!(wanted(4, 0, 100, 1, 4), 4);
    }
}
