//! Health checks: every few seconds, compare what the records say with what is alive, and
//! repair the difference.
//!
//! - [`liveness`]: a worker or spawner whose heartbeat stopped is dead; its record goes (a dead
//!   worker's unacked message is back in the mailbox already, by the broker's doing).
//! - [`scaling`]: each actor gets at least `minWorkers`, more while messages wait (up to
//!   `maxWorkers`), and fewer again once workers sit idle.
//! - [`orphans`]: a container with our labels whose worker is not alive is removed.
//! - [`stuck`]: an execution whose message can no longer run ends ERROR with the reason.
//! - [`retention`]: a finished execution older than the retention setting goes, with its logs
//!   and results.
//!
//! A mailbox is never touched here: only deleting its actor deletes it.

mod liveness;
mod orphans;
mod retention;
mod scaling;
mod stuck;

use std::{sync::Arc, time::Duration};

use abaco::{Result, fleet::Fleet, mailbox::Mailboxes, pb, records::Records};
use abaco_events::Emitter;
use abaco_worker::container::DockerRunner;
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
    /// A worker with nothing to do for this long is stopped (down to the actor's minimum).
    pub idle_timeout: Duration,
    /// Pause between two sweeps for stuck and expired executions.
    pub sweep_interval: Duration,
    /// How many records a sweep reads in one store call.
    pub sweep_batch: usize,
    /// An execution is only judged stuck once its message is at least this old.
    pub stuck_after: Duration,
    /// How long a finished execution is kept after it ended; `None`: until its actor goes.
    pub retention: Option<Duration>,
    /// A labelled container younger than this is never taken for an orphan (see
    /// `orphans.rs`).
    pub orphan_min_age: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            worker_timeout: Duration::from_secs(10),
            start_timeout: Duration::from_secs(60),
            spawner_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(60),
            sweep_batch: 500,
            stuck_after: Duration::from_secs(120),
            retention: None,
            orphan_min_age: Duration::from_secs(10),
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
    /// Workers asked for (minimum, backlog).
    pub workers_started: usize,
    /// Idle workers asked to stop.
    pub workers_stopped: usize,
    /// Orphaned containers removed.
    pub orphans_removed: usize,
    /// Executions ended as stuck.
    pub stuck_executions: usize,
    /// Finished executions removed (with their logs and results) past their retention.
    pub expired_executions: usize,
    /// Execution records the sweeps read: the open ones and those due for retention.
    pub executions_read: usize,
}

/// The health checker of one platform (one namespace).
#[derive(Debug, Clone)]
pub struct HealthChecker {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    fleet: Arc<dyn Fleet>,
    docker: Option<DockerRunner>,
    namespace: String,
    instance: String,
    settings: HealthSettings,
    events: Option<Emitter>,
}

impl HealthChecker {
    /// A checker over these backends; without `docker`, orphaned containers are left alone.
    /// Containers count as this platform's when they carry its `namespace` and `instance`.
    pub fn new(
        records: Records,
        mailboxes: Arc<dyn Mailboxes>,
        fleet: Arc<dyn Fleet>,
        docker: Option<DockerRunner>,
        namespace: String,
        instance: String,
        settings: HealthSettings,
    ) -> Self {
        Self {
            records,
            mailboxes,
            fleet,
            docker,
            namespace,
            instance,
            settings,
            events: None,
        }
    }

    /// The checker, telling the end of the executions it ends through `events`.
    #[must_use]
    pub fn with_events(mut self, events: Emitter) -> Self {
        self.events = Some(events);
        self
    }

    /// Runs a pass every `interval`, and a sweep every `sweep_interval`, until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            let sweep = last_sweep.elapsed() >= self.settings.sweep_interval;
            if sweep {
                last_sweep = tokio::time::Instant::now();
            }
            match self.check_once(sweep).await {
                Ok(report) if report != Report::default() => {
                    tracing::info!(?report, "health pass repaired things");
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

    /// One pass of every check; the stuck-execution sweep only when `sweep`.
    pub async fn check_once(&self, sweep: bool) -> Result<Report> {
        let mut report = Report {
            dead_spawners: self.remove_dead_spawners().await?,
            ..Report::default()
        };
        let live_workers = self.remove_dead_workers(&mut report).await?;
        gauge_workers(&live_workers);
        self.scale(&live_workers, &mut report).await?;
        report.orphans_removed = self.remove_orphans(&live_workers).await;
        if sweep {
            let indexed = self.records.index_executions_once().await?;
            if indexed > 0 {
                tracing::info!(
                    indexed,
                    "executions stored before their indexes existed indexed"
                );
            }
            let (stuck, open_read) = self.end_stuck_executions(&live_workers).await?;
            let (expired, due_read) = self.remove_expired().await?;
            report.stuck_executions = stuck;
            report.expired_executions = expired;
            report.executions_read = open_read + due_read;
        }
        Ok(report)
    }
}

/// Sets the workers-by-status gauge, zero included, from one pass's view of the workers.
fn gauge_workers(workers: &[pb::Worker]) {
    for code in 1..=9 {
        let Ok(status) = pb::WorkerStatus::try_from(code) else {
            continue;
        };
        let count = workers.iter().filter(|w| w.status() == status).count();
        metrics::gauge!(abaco::metrics::WORKERS, "status" => abaco::status::worker(status))
            .set(count as f64);
    }
}
