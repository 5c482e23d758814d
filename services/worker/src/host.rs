//! A worker's life around its run loop: check the image, open a control endpoint, announce
//! itself (control address, heartbeat), turn its actor READY, run, and clear its record on the
//! way out. The same code runs a worker as its own process (`abaco worker`) and as a task of
//! `abaco up`.

use std::{sync::Arc, time::Duration};

use abaco::{
    AbacoError, Result,
    grpc_server::GrpcEndpoint,
    mailbox::Mailboxes,
    pb,
    records::{Records, child_key},
    secret::Secret,
    store::Table,
};
use abaco_auth::grpc::InternalOnly;
use abaco_events::{Emitter, EventType};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    container::DockerRunner,
    control_service,
    run_loop::{WorkerContext, WorkerSettings, run_worker},
};

/// How often a worker renews its heartbeat; health checks allow several missed beats.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// What a hosted worker needs besides its run loop's settings.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// Address the control endpoint binds (port 0 picks a free one).
    pub control_bind: std::net::SocketAddr,
    /// Host part of the control address others use to reach this worker.
    pub advertise_host: String,
    /// The token callers of the control endpoint must present; `None` admits every caller
    /// (`header` mode on loopback only).
    pub internal_token: Option<Secret>,
    /// Longest an image pull may take.
    pub pull_timeout: Duration,
    /// How often a worker renews its heartbeat.
    pub heartbeat: Duration,
}

impl Default for HostSettings {
    fn default() -> Self {
        Self {
            control_bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise_host: "127.0.0.1".into(),
            internal_token: None,
            pull_timeout: Duration::from_secs(600),
            heartbeat: HEARTBEAT_EVERY,
        }
    }
}

/// Everything needed to run workers on this host; cheap to clone, one per spawner.
#[derive(Debug, Clone)]
pub struct WorkerHost {
    /// The platform's records.
    pub records: Records,
    /// The actors' mailboxes.
    pub mailboxes: Arc<dyn Mailboxes>,
    /// This host's Docker engine.
    pub runner: DockerRunner,
    /// Settings of every run loop.
    pub settings: WorkerSettings,
    /// Where control endpoints bind and how they are reached.
    pub host: HostSettings,
}

impl WorkerHost {
    /// Runs the worker `worker_id` of `actor_id` until it is stopped, its actor goes, or
    /// `stop`; its record is removed at the end.
    pub async fn run(
        &self,
        actor_id: &str,
        worker_id: &str,
        stop: CancellationToken,
    ) -> Result<()> {
        host_worker(self.clone(), actor_id, worker_id, stop).await
    }
}

async fn host_worker(
    host: WorkerHost,
    actor_id: &str,
    worker_id: &str,
    stop: CancellationToken,
) -> Result<()> {
    let WorkerHost {
        records,
        mailboxes,
        runner,
        settings,
        host,
    } = host;
    let key = child_key(actor_id, worker_id);
    let Some(record) = records.get::<pb::Worker>(Table::Workers, &key).await? else {
        return Err(AbacoError::not_found("worker", worker_id));
    };
    let actor = records.actor(actor_id).await?;
    let events = Emitter::new(mailboxes.clone(), settings.default_tenant.clone());
    if !ensure_image(&records, &events, &runner, &actor, &record, &host).await? {
        return Ok(());
    }

    let listener = TcpListener::bind(host.control_bind)
        .await
        .map_err(|e| AbacoError::Unavailable(format!("worker control endpoint: {e}")))?;
    let port = listener.local_addr().map_err(AbacoError::internal)?.port();
    let control_addr = format!("{}:{port}", host.advertise_host);
    let beat = records.now_stamp().await?;
    let worker = records
        .update(Table::Workers, &key, |w: &mut pb::Worker| {
            w.control_addr.clone_from(&control_addr);
            w.pid = std::process::id();
            w.last_health_check_time.clone_from(&beat);
            Ok(true)
        })
        .await?;

    let log_cap = settings.log_cap;
    let ctx = WorkerContext::new(
        records.clone(),
        mailboxes,
        runner.clone(),
        worker.clone(),
        settings,
    );
    let handle = ctx.handle();
    let done = CancellationToken::new();
    let mut endpoint = GrpcEndpoint::default();
    endpoint.add(InternalOnly::new(
        control_service(handle.clone(), runner, log_cap),
        host.internal_token.clone(),
    ));
    let serving = tokio::spawn(endpoint.serve(listener, done.clone().cancelled_owned()));
    let beating = tokio::spawn(heartbeat(
        records.clone(),
        key.clone(),
        handle.clone(),
        host.heartbeat,
        done.clone(),
    ));

    mark_actor_ready(&records, &events, &actor, worker.revision).await;
    tracing::info!(worker = worker_id, actor = actor_id, %control_addr, "worker is ready");
    let outcome = run_worker(ctx, stop).await;

    done.cancel();
    let _ = beating.await;
    let _ = serving.await;
    records.delete(Table::Workers, &key).await?;
    tracing::info!(worker = worker_id, actor = actor_id, "worker stopped");
    outcome.map_err(|e| AbacoError::Unavailable(e.to_string()))
}

fn docker_unavailable(error: crate::container::RunError) -> AbacoError {
    AbacoError::Unavailable(format!("docker: {error}"))
}

/// Makes sure the actor's image is on this host: pulls it when the host lacks it or the
/// spawner asked (the first worker of a revision here). Whether the worker can go on; when it
/// cannot, the actor is ERROR with the reason and its messages stay queued.
async fn ensure_image(
    records: &Records,
    events: &Emitter,
    runner: &DockerRunner,
    actor: &pb::Actor,
    worker: &pb::Worker,
    host: &HostSettings,
) -> Result<bool> {
    let present = runner
        .image_exists(&actor.image)
        .await
        .map_err(docker_unavailable)?;
    if present && !worker.pull_image {
        return Ok(true);
    }
    let key = child_key(&actor.id, &worker.id);
    records
        .update(Table::Workers, &key, |w: &mut pb::Worker| {
            w.set_status(pb::WorkerStatus::PullingImage);
            Ok(true)
        })
        .await?;
    match runner.pull(&actor.image, host.pull_timeout).await {
        Ok(()) => Ok(true),
        Err(error) if present => {
            // The registry is out of reach (or knows no newer image): the host's copy runs.
            tracing::warn!(actor = %actor.id, image = %actor.image, %error, "image not refreshed; running the host's copy");
            Ok(true)
        }
        Err(error) => {
            refuse_image(records, events, actor, &key, &error.to_string()).await?;
            Ok(false)
        }
    }
}

/// The image cannot be had: the actor turns ERROR naming it and the reason, the worker ends,
/// and the actor's messages stay queued until the actor is updated.
async fn refuse_image(
    records: &Records,
    events: &Emitter,
    actor: &pb::Actor,
    key: &str,
    reason: &str,
) -> Result<()> {
    let message = format!(
        "{reason}; messages stay queued until the actor is updated with an image this host can run"
    );
    tracing::warn!(actor = %actor.id, image = %actor.image, %reason, "image unavailable; actor is in error");
    let revision = actor.revision;
    let mut turned = false;
    let updated = records
        .update(Table::Actors, &actor.id, |a: &mut pb::Actor| {
            turned = a.revision == revision && a.status() != pb::ActorStatus::Error;
            if a.revision != revision {
                return Ok(false);
            }
            a.set_status(pb::ActorStatus::Error);
            a.status_message.clone_from(&message);
            Ok(true)
        })
        .await?;
    if turned {
        events
            .actor_event_logged(&updated, EventType::ActorError)
            .await;
    }
    records
        .update(Table::Workers, key, |w: &mut pb::Worker| {
            w.set_status(pb::WorkerStatus::Error);
            w.status_message.clone_from(&message);
            Ok(true)
        })
        .await?;
    Ok(())
}

async fn mark_actor_ready(records: &Records, events: &Emitter, actor: &pb::Actor, revision: u32) {
    let mut turned = false;
    let changed = records
        .update(Table::Actors, &actor.id, |a: &mut pb::Actor| {
            let stale = a.revision != revision;
            let settled =
                a.status() == pb::ActorStatus::Ready || a.status() == pb::ActorStatus::ShuttingDown;
            turned = !(stale || settled);
            if !turned {
                return Ok(false);
            }
            a.set_status(pb::ActorStatus::Ready);
            a.status_message.clear();
            Ok(true)
        })
        .await;
    match changed {
        Ok(ready) if turned => {
            events
                .actor_event_logged(&ready, EventType::ActorReady)
                .await
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(actor = %actor.id, %error, "could not mark the actor READY"),
    }
}

/// Renews the heartbeat until `done`. A worker whose record was removed (declared dead, or
/// its actor deleted) stops at once rather than run on unseen.
async fn heartbeat(
    records: Records,
    key: String,
    handle: crate::WorkerHandle,
    every: Duration,
    done: CancellationToken,
) {
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        // Stamped with the store's clock, which the health checks judge it by.
        let beat = match records.now_stamp().await {
            Ok(now) => {
                records
                    .update(Table::Workers, &key, |w: &mut pb::Worker| {
                        w.last_health_check_time.clone_from(&now);
                        Ok(true)
                    })
                    .await
            }
            Err(error) => Err(error),
        };
        match beat {
            Ok(_) => {}
            Err(AbacoError::NotFound(_)) => {
                tracing::warn!(worker = %key, "worker record is gone; stopping");
                handle.stop(false);
                return;
            }
            Err(error) => tracing::warn!(worker = %key, %error, "heartbeat not recorded"),
        }
    }
}
