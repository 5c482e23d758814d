//! How many workers each actor has: at least `minWorkers`; more while messages wait, up to
//! `maxWorkers`, several in one pass when the backlog calls for it; fewer once workers have
//! been idle for the idle timeout, down to `minWorkers` (zero included).

use abaco::{Result, pb, store::Table, time};

use crate::{HealthChecker, Report};

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
            let want = if have < min {
                min
            } else if waiting > 0 && have < max {
                max.min(have + waiting)
            } else {
                have
            };
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
