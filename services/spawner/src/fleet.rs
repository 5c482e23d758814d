//! [`SpawnerFleet`]: the fleet over live spawners. It decides how many workers an actor
//! should have and asks spawners to start or stop them; the spawners do the starting.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use abaco::fleet::LogStream;
use abaco::{
    AbacoError, Result,
    fleet::Fleet,
    ids,
    pb::{self, spawner_client::SpawnerClient, worker_control_client::WorkerControlClient},
    records::{Records, child_key},
    secret::Secret,
    store::Table,
};
use abaco_events::{Emitter, EventType};
use async_trait::async_trait;
use futures::StreamExt;

use crate::{channels::Channels, registry::live_spawners};

/// How patient the fleet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetTimings {
    /// How long one fleet decision may hold an actor's spawn lease.
    pub spawn_lease: Duration,
    /// How long a caller waits for another caller's spawn lease before giving up.
    pub lease_wait: Duration,
    /// How long deleting an actor waits for its workers to go.
    pub stop_wait: Duration,
    /// How long a control call to a spawner or worker may take.
    pub call_timeout: Duration,
    /// How long "this actor has a live worker" is believed without looking again. Messages
    /// to a busy actor then cost no worker scan each; a worker lost meanwhile is replaced by
    /// the health checks.
    pub staffed_for: Duration,
}

impl Default for FleetTimings {
    fn default() -> Self {
        Self {
            spawn_lease: Duration::from_secs(15),
            lease_wait: Duration::from_secs(10),
            stop_wait: Duration::from_secs(15),
            call_timeout: crate::channels::CALL_TIMEOUT,
            staffed_for: Duration::from_secs(1),
        }
    }
}

/// Places workers on live spawners.
#[derive(Debug, Clone)]
pub struct SpawnerFleet {
    records: Records,
    channels: Channels,
    staffed: Staffed,
    events: Option<Emitter>,
    /// A spawner whose heartbeat is older than this (by the store's clock) gets no workers.
    liveness_timeout: Duration,
    timings: FleetTimings,
}

/// Actors recently seen with a live worker, and when; believed for `for_how_long`.
#[derive(Debug, Clone)]
struct Staffed {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
    for_how_long: Duration,
}

impl Staffed {
    fn new(for_how_long: Duration) -> Self {
        Self {
            seen: Arc::default(),
            for_how_long,
        }
    }

    fn recently(&self, actor_id: &str) -> bool {
        self.lock()
            .get(actor_id)
            .is_some_and(|seen| seen.elapsed() < self.for_how_long)
    }

    fn saw(&self, actor_id: &str) {
        let mut seen = self.lock();
        // Bounded by the number of actors messaged within the window; old entries go here.
        seen.retain(|_, at| at.elapsed() < self.for_how_long);
        seen.insert(actor_id.to_string(), Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a worker counts toward its actor's workers (it is not on its way out).
fn is_live(worker: &pb::Worker) -> bool {
    abaco::status::worker_counts(worker.status())
}

impl SpawnerFleet {
    /// A fleet over the spawners registered in `records`; its calls to spawners and workers
    /// carry `internal_token`.
    pub fn new(records: Records, internal_token: Option<Secret>) -> Self {
        let timings = FleetTimings::default();
        Self {
            records,
            channels: Channels::new(internal_token),
            staffed: Staffed::new(timings.staffed_for),
            events: None,
            liveness_timeout: Duration::from_secs(10),
            timings,
        }
    }

    /// The fleet with these timings.
    #[must_use]
    pub fn with_timings(mut self, timings: FleetTimings) -> Self {
        self.channels = self.channels.with_call_timeout(timings.call_timeout);
        self.staffed = Staffed::new(timings.staffed_for);
        self.timings = timings;
        self
    }

    /// The fleet, taking a spawner whose heartbeat (by the store's clock) is older than
    /// `timeout` for dead.
    #[must_use]
    pub fn with_liveness_timeout(mut self, timeout: Duration) -> Self {
        self.liveness_timeout = timeout;
        self
    }

    /// The fleet, telling actors' events through `events` (an actor that needs no worker
    /// turns READY here).
    #[must_use]
    pub fn with_events(mut self, events: Emitter) -> Self {
        self.events = Some(events);
        self
    }

    async fn workers(&self, actor_id: &str) -> Result<Vec<pb::Worker>> {
        self.records
            .list(Table::Workers, &format!("{actor_id}/"))
            .await
    }

    /// Runs `decide` while holding the actor's spawn lease, so two callers never both see
    /// "too few workers" and both start one.
    async fn with_spawn_lease<T>(
        &self,
        actor_id: &str,
        decide: impl AsyncFnOnce() -> Result<T>,
    ) -> Result<T> {
        let lease = format!("{actor_id}/spawn");
        let deadline = tokio::time::Instant::now() + self.timings.lease_wait;
        let held = loop {
            if let Some(held) = self
                .records
                .try_lease(&lease, self.timings.spawn_lease)
                .await?
            {
                break held;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(AbacoError::Conflict(format!(
                    "workers of actor {actor_id} are being changed; try again"
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let outcome = decide().await;
        match self.records.release_lease(held).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    actor = actor_id,
                    "spawn lease ran out before its holder was done"
                );
            }
            Err(error) => {
                tracing::warn!(actor = actor_id, %error, "spawn lease not released; it will expire");
            }
        }
        outcome
    }

    /// Starts workers of the actor's current revision until it has `want` live ones.
    async fn scale_up(&self, actor: &pb::Actor, want: u32) -> Result<Vec<pb::Worker>> {
        self.with_spawn_lease(&actor.id, async || {
            let mut current: Vec<pb::Worker> = self
                .workers(&actor.id)
                .await?
                .into_iter()
                .filter(|w| is_live(w) && w.revision == actor.revision)
                .collect();
            let want = want.min(actor.max_workers) as usize;
            while current.len() < want {
                current.push(self.spawn_one(actor).await?);
            }
            Ok(current)
        })
        .await
    }

    async fn spawn_one(&self, actor: &pb::Actor) -> Result<pb::Worker> {
        let queue = if actor.queue.is_empty() {
            abaco::settings::DEFAULT_QUEUE
        } else {
            actor.queue.as_str()
        };
        let spawner = live_spawners(&self.records, self.liveness_timeout)
            .await?
            .into_iter()
            .filter(|s| s.queues.iter().any(|served| served == queue))
            .filter(|s| s.running < s.capacity)
            .max_by_key(|s| s.capacity - s.running)
            .ok_or_else(|| {
                AbacoError::Unavailable(format!(
                    "no spawner serving queue {queue:?} with free capacity is running"
                ))
            })?;
        let worker = pb::Worker {
            id: ids::new_id(),
            actor_id: actor.id.clone(),
            status: pb::WorkerStatus::Requested.into(),
            image: actor.image.clone(),
            revision: actor.revision,
            spawner_id: spawner.id.clone(),
            host_id: spawner.host_id.clone(),
            // By the store's clock, as the health checks judge a starting worker by it.
            create_time: self.records.now_stamp().await?,
            tenant: actor.tenant.clone(),
            ..Default::default()
        };
        let key = child_key(&actor.id, &worker.id);
        self.records.insert(Table::Workers, &key, &worker).await?;
        let mut client = SpawnerClient::new(self.channels.get(&spawner.addr)?);
        let asked = client
            .spawn_worker(self.channels.request(pb::SpawnWorkerRequest {
                actor_id: actor.id.clone(),
                worker_id: worker.id.clone(),
                revision: actor.revision,
            }))
            .await;
        match asked {
            Ok(answer) => Ok(answer.into_inner().worker.unwrap_or(worker)),
            Err(status) => {
                // The spawner never took it: no record may claim a worker that does not exist.
                self.records.delete(Table::Workers, &key).await?;
                Err(status.into())
            }
        }
    }

    async fn ask_to_stop(&self, worker: &pb::Worker, graceful: bool) -> Result<()> {
        let key = child_key(&worker.actor_id, &worker.id);
        self.records
            .update(Table::Workers, &key, |w: &mut pb::Worker| {
                if w.status() == pb::WorkerStatus::ShuttingDown {
                    return Ok(false);
                }
                w.set_status(pb::WorkerStatus::ShutdownRequested);
                Ok(true)
            })
            .await?;
        let spawner: Option<pb::SpawnerInfo> = self
            .records
            .get(Table::Spawners, &worker.spawner_id)
            .await?;
        let Some(spawner) = spawner else {
            // Its spawner is gone; the health checks will clear the worker's leftovers.
            return Ok(());
        };
        let mut client = SpawnerClient::new(self.channels.get(&spawner.addr)?);
        client
            .stop_worker(self.channels.request(pb::StopWorkerRequest {
                actor_id: worker.actor_id.clone(),
                worker_id: worker.id.clone(),
                graceful,
            }))
            .await
            .map(|_| ())
            .or_else(|status| match status.code() {
                tonic::Code::NotFound => Ok(()),
                _ => Err(status.into()),
            })
    }
}

#[async_trait]
impl Fleet for SpawnerFleet {
    async fn actor_changed(&self, actor: &pb::Actor) -> Result<()> {
        let stale: Vec<pb::Worker> = self
            .workers(&actor.id)
            .await?
            .into_iter()
            .filter(|w| is_live(w) && w.revision != actor.revision)
            .collect();
        for worker in &stale {
            // Old workers finish the run they are in, then go; new ones take the mailbox.
            if let Err(error) = self.ask_to_stop(worker, true).await {
                tracing::warn!(worker = %worker.id, %error, "stale worker not stopped yet");
            }
        }
        let want = actor.min_workers.max(u32::from(!stale.is_empty()));
        if want == 0 {
            if actor.status() == pb::ActorStatus::Submitted {
                let mut turned = false;
                let ready = self
                    .records
                    .update(Table::Actors, &actor.id, |a: &mut pb::Actor| {
                        turned = a.status() == pb::ActorStatus::Submitted;
                        a.set_status(pb::ActorStatus::Ready);
                        Ok(turned)
                    })
                    .await?;
                if let Some(events) = self.events.as_ref().filter(|_| turned) {
                    events
                        .actor_event_logged(&ready, EventType::ActorReady)
                        .await;
                }
            }
            return Ok(());
        }
        self.scale_up(actor, want).await.map(|_| ())
    }

    async fn actor_deleted(&self, actor_id: &str) -> Result<()> {
        for worker in self.workers(actor_id).await? {
            if let Err(error) = self.ask_to_stop(&worker, false).await {
                tracing::warn!(worker = %worker.id, %error, "worker of a deleted actor not stopped");
            }
        }
        let deadline = tokio::time::Instant::now() + self.timings.stop_wait;
        while tokio::time::Instant::now() < deadline {
            if self
                .workers(actor_id)
                .await?
                .iter()
                .all(|w| !is_live(w) && w.status() != pb::WorkerStatus::ShutdownRequested)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn message_accepted(&self, actor_id: &str) -> Result<()> {
        if self.staffed.recently(actor_id) {
            return Ok(());
        }
        let live = self
            .workers(actor_id)
            .await?
            .iter()
            .filter(|w| is_live(w))
            .count();
        if live > 0 {
            self.staffed.saw(actor_id);
            return Ok(());
        }
        let actor = self.records.actor(actor_id).await?;
        if actor.status() == pb::ActorStatus::Error {
            // Its image is missing or broken: the message waits until the actor is updated,
            // rather than each message starting a worker that fails the same way.
            return Ok(());
        }
        self.scale_up(&actor, 1).await.map(|_| ())
    }

    async fn ensure_workers(&self, actor_id: &str, num: u32) -> Result<Vec<pb::Worker>> {
        let actor = self.records.actor(actor_id).await?;
        self.scale_up(&actor, num).await
    }

    async fn stop_worker(&self, actor_id: &str, worker_id: &str) -> Result<pb::Worker> {
        let key = child_key(actor_id, worker_id);
        let worker: pb::Worker = self
            .records
            .get(Table::Workers, &key)
            .await?
            .ok_or_else(|| AbacoError::not_found("worker", worker_id))?;
        self.ask_to_stop(&worker, true).await?;
        Ok(self
            .records
            .get(Table::Workers, &key)
            .await?
            .unwrap_or(worker))
    }

    async fn force_quit(&self, execution: &pb::Execution) -> Result<bool> {
        let key = child_key(&execution.actor_id, &execution.worker_id);
        let worker: Option<pb::Worker> = self.records.get(Table::Workers, &key).await?;
        let Some(worker) = worker.filter(|w| !w.control_addr.is_empty()) else {
            return Ok(false);
        };
        let mut client = WorkerControlClient::new(self.channels.get(&worker.control_addr)?);
        match client
            .force_quit(self.channels.request(pb::ForceQuitRequest {
                execution_id: execution.id.clone(),
            }))
            .await
        {
            Ok(answer) => Ok(answer.into_inner().stopped),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(false),
            Err(status) => Err(status.into()),
        }
    }

    async fn follow_logs(&self, execution: &pb::Execution) -> Result<Option<LogStream>> {
        let key = child_key(&execution.actor_id, &execution.worker_id);
        let worker: Option<pb::Worker> = self.records.get(Table::Workers, &key).await?;
        let Some(worker) = worker.filter(|w| !w.control_addr.is_empty()) else {
            return Ok(None);
        };
        let mut client = WorkerControlClient::new(self.channels.get(&worker.control_addr)?);
        let request = self.channels.request(pb::FollowLogsRequest {
            execution_id: execution.id.clone(),
        });
        match client.follow_logs(request).await {
            Ok(answer) => Ok(Some(
                answer
                    .into_inner()
                    .map(|chunk| chunk.map(|c| c.text).map_err(AbacoError::from))
                    .boxed(),
            )),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }
}
