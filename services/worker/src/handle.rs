//! What the outside (the control service, the process) can see of and do to a running worker.

use std::sync::{Arc, Mutex};

use abaco::{pb, records::Records, store::Table};
use tokio_util::sync::CancellationToken;

/// A cheap, cloneable handle on one worker.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    records: Records,
    snapshot: pb::Worker,
    current: Mutex<Option<CurrentRun>>,
    /// Stop taking messages; the current run may finish.
    stop: CancellationToken,
    /// Parent of every run's token, so a forced stop also ends a run that starts later.
    force: CancellationToken,
}

#[derive(Debug)]
struct CurrentRun {
    execution_id: String,
    cancel: CancellationToken,
}

impl WorkerHandle {
    /// A handle for `worker`, whose record lives in `records`.
    pub fn new(records: Records, worker: pb::Worker) -> Self {
        Self {
            inner: Arc::new(Inner {
                records,
                snapshot: worker,
                current: Mutex::new(None),
                stop: CancellationToken::new(),
                force: CancellationToken::new(),
            }),
        }
    }

    /// The worker's id.
    pub fn worker_id(&self) -> &str {
        &self.inner.snapshot.id
    }

    /// The id of the actor the worker serves.
    pub fn actor_id(&self) -> &str {
        &self.inner.snapshot.actor_id
    }

    /// The execution running now, if any.
    pub fn current_execution(&self) -> Option<String> {
        self.lock_current()
            .as_ref()
            .map(|run| run.execution_id.clone())
    }

    /// Ends the current run if it is `execution_id`; whether it was.
    pub fn force_quit(&self, execution_id: &str) -> bool {
        match self.lock_current().as_ref() {
            Some(run) if run.execution_id == execution_id => {
                run.cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// Asks the worker to stop: after the current run when `graceful`, at once otherwise
    /// (the current run is force-quit and recorded as such).
    pub fn stop(&self, graceful: bool) {
        if !graceful {
            self.inner.force.cancel();
        }
        self.inner.stop.cancel();
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    /// Resolves once a stop is asked for.
    pub async fn stopped(&self) {
        self.inner.stop.cancelled().await;
    }

    /// The worker's record as stored, or as the worker was started when the store has none.
    pub async fn worker_record(&self) -> abaco::Result<pb::Worker> {
        let key = abaco::records::child_key(self.actor_id(), self.worker_id());
        Ok(self
            .inner
            .records
            .get(Table::Workers, &key)
            .await?
            .unwrap_or_else(|| self.inner.snapshot.clone()))
    }

    /// The worker as it was started.
    pub(crate) fn snapshot(&self) -> &pb::Worker {
        &self.inner.snapshot
    }

    /// Marks `execution_id` as running; the token ends it.
    pub(crate) fn begin(&self, execution_id: &str) -> CancellationToken {
        let cancel = self.inner.force.child_token();
        *self.lock_current() = Some(CurrentRun {
            execution_id: execution_id.to_string(),
            cancel: cancel.clone(),
        });
        cancel
    }

    /// Marks the current run as over.
    pub(crate) fn end(&self) {
        *self.lock_current() = None;
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<CurrentRun>> {
        // The guarded value stays consistent even if a holder panicked: take it anyway.
        self.inner
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
