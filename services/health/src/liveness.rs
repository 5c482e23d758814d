//! Dead workers and spawners: a heartbeat that stopped.

use abaco::{Result, pb, records::child_key, store::Table, time};

use crate::{HealthChecker, Report};

/// Whether a worker is still on its way up.
fn is_starting(worker: &pb::Worker) -> bool {
    matches!(
        worker.status(),
        pb::WorkerStatus::Requested
            | pb::WorkerStatus::SpawnerSetup
            | pb::WorkerStatus::PullingImage
            | pb::WorkerStatus::CreatingContainer
    )
}

impl HealthChecker {
    pub(crate) async fn remove_dead_spawners(&self) -> Result<usize> {
        // Heartbeats are stamped, and judged, by the store's clock: this host's may be off.
        let now = self.records.now().await?;
        let spawners: Vec<pb::SpawnerInfo> = self.records.list(Table::Spawners, "").await?;
        let mut removed = 0;
        for spawner in spawners {
            if time::older_than_at(&spawner.heartbeat_time, self.settings.spawner_timeout, now) {
                tracing::warn!(spawner = %spawner.id, "spawner stopped beating; removing it");
                self.records.delete(Table::Spawners, &spawner.id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes dead workers' records; the workers that remain.
    pub(crate) async fn remove_dead_workers(&self, report: &mut Report) -> Result<Vec<pb::Worker>> {
        let now = self.records.now().await?;
        let workers: Vec<pb::Worker> = self.records.list(Table::Workers, "").await?;
        let mut live = Vec::new();
        for worker in workers {
            let (stamp, timeout) =
                if is_starting(&worker) || worker.last_health_check_time.is_empty() {
                    (&worker.create_time, self.settings.start_timeout)
                } else {
                    (&worker.last_health_check_time, self.settings.worker_timeout)
                };
            // An ERROR worker is kept on record for users to see why; it runs nothing.
            let dead = worker.status() != pb::WorkerStatus::Error
                && time::older_than_at(stamp, timeout, now);
            if dead {
                tracing::warn!(worker = %worker.id, actor = %worker.actor_id, status = ?worker.status(), "worker stopped beating; removing it");
                self.records
                    .delete(Table::Workers, &child_key(&worker.actor_id, &worker.id))
                    .await?;
                report.dead_workers += 1;
            } else {
                live.push(worker);
            }
        }
        Ok(live)
    }
}
