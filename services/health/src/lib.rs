//! Health checks: every few seconds, compare what the records say with what is alive, and
//! repair the difference.
//!
//! - A worker whose heartbeat stopped is dead: its record goes (its unacked message is back in
//!   the mailbox already, by the broker's doing) and its actor gets a replacement.
//! - A spawner whose heartbeat stopped is dead: its entry goes, so nothing is placed on it.
//! - An actor with fewer live workers than `minWorkers`, or with waiting messages and no
//!   worker at all, gets workers.
//! - A container with our labels whose worker is not alive is an orphan: it is removed.
//!
//! A mailbox is never touched here: only deleting its actor deletes it.

use std::{collections::HashSet, sync::Arc, time::Duration};

use abaco::{
    Result,
    fleet::Fleet,
    mailbox::Mailboxes,
    pb,
    records::{Records, child_key},
    store::Table,
    time,
};
use abaco_worker::container::{DockerRunner, LABEL_NAMESPACE, LABEL_WORKER};
use tokio_util::sync::CancellationToken;

/// Timing of the checks.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// Pause between two passes.
    pub interval: Duration,
    /// A running worker whose heartbeat is older than this is dead.
    pub worker_timeout: Duration,
    /// A worker still starting (requested, being set up) for longer than this is dead.
    pub start_timeout: Duration,
    /// A spawner whose heartbeat is older than this is dead.
    pub spawner_timeout: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            worker_timeout: Duration::from_secs(10),
            start_timeout: Duration::from_secs(60),
            spawner_timeout: Duration::from_secs(10),
        }
    }
}

/// What one pass found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Worker records removed as dead.
    pub dead_workers: usize,
    /// Spawner entries removed as dead.
    pub dead_spawners: usize,
    /// Actors that were asked for more workers.
    pub actors_repaired: usize,
    /// Orphaned containers removed.
    pub orphans_removed: usize,
}

/// The health checker of one platform (one namespace).
#[derive(Debug, Clone)]
pub struct HealthChecker {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    fleet: Arc<dyn Fleet>,
    docker: Option<DockerRunner>,
    namespace: String,
    settings: HealthSettings,
}

fn older_than(stamp: &str, age: Duration) -> bool {
    let Some(at) = time::parse(stamp) else {
        return true;
    };
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    chrono::Utc::now() - at > age
}

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
    /// A checker over these backends; without `docker`, orphaned containers are left alone.
    pub fn new(
        records: Records,
        mailboxes: Arc<dyn Mailboxes>,
        fleet: Arc<dyn Fleet>,
        docker: Option<DockerRunner>,
        namespace: String,
        settings: HealthSettings,
    ) -> Self {
        Self {
            records,
            mailboxes,
            fleet,
            docker,
            namespace,
            settings,
        }
    }

    /// Runs a pass every `interval` until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.check_once().await {
                Ok(report) if report != Report::default() => {
                    tracing::info!(?report, "health pass repaired things")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "health pass failed"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.settings.interval) => {}
            }
        }
    }

    /// One pass of every check.
    pub async fn check_once(&self) -> Result<Report> {
        let mut report = Report {
            dead_spawners: self.remove_dead_spawners().await?,
            ..Report::default()
        };
        let live_workers = self.remove_dead_workers(&mut report).await?;
        report.actors_repaired = self.repair_actors(&live_workers).await?;
        report.orphans_removed = self.remove_orphans(&live_workers).await;
        Ok(report)
    }

    async fn remove_dead_spawners(&self) -> Result<usize> {
        let spawners: Vec<pb::SpawnerInfo> = self.records.list(Table::Spawners, "").await?;
        let mut removed = 0;
        for spawner in spawners {
            if older_than(&spawner.heartbeat_time, self.settings.spawner_timeout) {
                tracing::warn!(spawner = %spawner.id, "spawner stopped beating; removing it");
                self.records.delete(Table::Spawners, &spawner.id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes dead workers' records; the live workers that remain.
    async fn remove_dead_workers(&self, report: &mut Report) -> Result<Vec<pb::Worker>> {
        let workers: Vec<pb::Worker> = self.records.list(Table::Workers, "").await?;
        let mut live = Vec::new();
        for worker in workers {
            let (stamp, timeout) =
                if is_starting(&worker) || worker.last_health_check_time.is_empty() {
                    (&worker.create_time, self.settings.start_timeout)
                } else {
                    (&worker.last_health_check_time, self.settings.worker_timeout)
                };
            let dead = worker.status() != pb::WorkerStatus::Error && older_than(stamp, timeout);
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

    async fn repair_actors(&self, live_workers: &[pb::Worker]) -> Result<usize> {
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        let mut repaired = 0;
        for actor in actors {
            if matches!(
                actor.status(),
                pb::ActorStatus::ShuttingDown | pb::ActorStatus::Error
            ) {
                continue;
            }
            let workers = live_workers
                .iter()
                .filter(|w| {
                    w.actor_id == actor.id
                        && w.status() != pb::WorkerStatus::Error
                        && w.status() != pb::WorkerStatus::ShutdownRequested
                        && w.status() != pb::WorkerStatus::ShuttingDown
                })
                .count();
            let short_of_minimum = workers < actor.min_workers as usize;
            let waiting = if workers == 0 {
                self.mailboxes.depth(&actor.id).await.unwrap_or(0)
            } else {
                0
            };
            if !(short_of_minimum || waiting > 0) {
                continue;
            }
            let asked = if short_of_minimum {
                self.fleet.actor_changed(&actor).await
            } else {
                self.fleet.message_accepted(&actor.id).await
            };
            match asked {
                Ok(()) => repaired += 1,
                Err(error) => tracing::warn!(actor = %actor.id, %error, "could not start workers"),
            }
        }
        Ok(repaired)
    }

    async fn remove_orphans(&self, live_workers: &[pb::Worker]) -> usize {
        let Some(docker) = &self.docker else {
            return 0;
        };
        let live: HashSet<&str> = live_workers.iter().map(|w| w.id.as_str()).collect();
        let filter = format!("{LABEL_NAMESPACE}={}", self.namespace);
        let keep = |labels: &std::collections::HashMap<String, String>| {
            labels
                .get(LABEL_WORKER)
                .is_some_and(|worker| live.contains(worker.as_str()))
        };
        match docker.remove_orphans(&filter, keep).await {
            Ok(removed) => removed,
            Err(error) => {
                tracing::warn!(%error, "could not list containers for orphans");
                0
            }
        }
    }
}
