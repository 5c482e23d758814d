//! The worker proper: one message at a time from the actor's mailbox, one container per
//! message, the execution recorded before the message is acked.
//!
//! Per delivery: decode (undecodable: put aside as a dead letter, nothing can ever run it) ->
//! load the actor (gone: give the message back and stop) -> claim the execution by
//! compare-and-set (see [`records::claim`]) -> run -> store logs and results -> record the
//! execution COMPLETE (or ERROR) -> ack. A crash anywhere before the ack leaves the message in
//! the mailbox, and its redelivery finds the execution either finished (acked, not run again)
//! or RUNNING by a dead owner (run again).
//!
//! A run that Docker cannot carry out (the image is not on the host, the engine refused) ends
//! the execution ERROR with Docker's reason in its status message and logs, and the message is
//! acked: the failure is visible to the user instead of the message bouncing forever. The
//! flip side: while the engine is down, waiting messages end ERROR rather than wait.

mod announce;
mod env;
mod finish;
mod hot;
mod mounts;
mod records;
pub use records::Persist;
mod retry;
mod spec;
mod subscribe;
mod unrecorded;

use spec::run_spec;

use std::{sync::Arc, time::Duration};

use abaco::{
    AbacoError,
    mailbox::{Delivery, MailboxError, Mailboxes},
    pb::{self, WorkerStatus},
    records::Records,
    time,
};
use abaco_auth::AccessTokenMinter;
use abaco_configs::ConfigKey;
use abaco_events::Emitter;
use prost::Message;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    container::{DockerRunner, HotContainer, NetworkHolder, RunError, RunOutcome, RunSpec},
    handle::WorkerHandle,
};

pub use env::{BINARY, RunContext, build as build_env};
pub use hot::HOT_HINT;
pub use mounts::{MountError, TenantMounts};

/// Settings of a worker; zero values on the actor fall back to these.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The platform's namespace, put on every container so that health checks of one platform
    /// never touch another's containers on a shared engine.
    pub namespace: String,
    /// The platform installation's id (see `Records::instance_id`), also put on every container.
    pub instance: String,
    /// Base URL of the API, handed to runs as `_abaco_api_server`.
    pub api_server: String,
    /// How long logs and results are kept when the actor sets no `log_ex`.
    pub default_log_ttl: Duration,
    /// Most log bytes kept per execution.
    pub log_cap: usize,
    /// Most result bytes kept per execution.
    pub results_cap: usize,
    /// Run time limit when the actor sets none; `None` lets runs go on.
    pub default_max_run_time: Option<Duration>,
    /// Memory limit in bytes when the actor sets none.
    pub default_mem_limit: Option<u64>,
    /// CPU limit (1e-9 CPUs) when the actor sets none.
    pub default_nano_cpus: Option<u64>,
    /// Signs the `_abaco_access_token` of runs of actors with `token: true`; without it those
    /// runs get no token.
    pub access_tokens: Option<AccessTokenMinter>,
    /// The tenant of actors recorded before tenants existed.
    pub default_tenant: String,
    /// `uid[:gid]` runs use unless their actor has `useContainerUid`.
    pub run_user: Option<String>,
    /// Host directories administrators mount into runs, by tenant.
    pub mounts: TenantMounts,
    /// Opens secret actor configs; without it, runs get only the plain ones.
    pub configs_key: Option<ConfigKey>,
    /// A worker whose heartbeat (by the store's clock) is older than this is dead: its run
    /// may be taken over. The health checks use the same timeout.
    pub liveness_timeout: Duration,
    /// Pause before a run's first retry; doubled for each one after.
    pub retry_backoff: Duration,
    /// Longest pause between two tries of a run.
    pub retry_backoff_max: Duration,
    /// How often a redelivered copy whose execution a live worker runs looks again.
    pub owner_poll: Duration,
    /// Pause after a store failure before the next delivery, so a sick store is not hammered.
    pub store_backoff: Duration,
    /// How long a message whose execution record is not in yet waits for it, from its
    /// acceptance: a fresh message is published while its record goes in, so a worker can be
    /// handed it first.
    pub record_wait: Duration,
    /// How writes that guard an ack (claim, finish, logs, results, dead letters) are retried.
    pub persist: records::Persist,
    /// Runs join a network namespace their worker keeps (see [`NetworkHolder`]) instead of
    /// each getting one of its own.
    pub network_holder: bool,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            namespace: "abaco".into(),
            instance: String::new(),
            api_server: "http://127.0.0.1:8000".into(),
            default_log_ttl: Duration::from_secs(24 * 60 * 60),
            log_cap: 1024 * 1024,
            results_cap: 1024 * 1024,
            default_max_run_time: None,
            default_mem_limit: None,
            default_nano_cpus: None,
            access_tokens: None,
            default_tenant: "default".into(),
            run_user: None,
            mounts: TenantMounts::default(),
            configs_key: None,
            liveness_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            owner_poll: Duration::from_millis(500),
            store_backoff: Duration::from_secs(1),
            record_wait: Duration::from_secs(15),
            persist: records::Persist::default(),
            network_holder: false,
        }
    }
}

/// Everything a worker needs.
#[derive(Debug)]
pub struct WorkerContext {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    runner: DockerRunner,
    settings: WorkerSettings,
    handle: WorkerHandle,
    events: Emitter,
    holder: Option<NetworkHolder>,
    /// The running container of a hot actor.
    hot: tokio::sync::Mutex<Option<HotContainer>>,
}

impl WorkerContext {
    /// A worker for `worker.actor_id`, known as `worker.id`.
    pub fn new(
        records: Records,
        mailboxes: Arc<dyn Mailboxes>,
        runner: DockerRunner,
        worker: pb::Worker,
        settings: WorkerSettings,
    ) -> Self {
        let holder = settings.network_holder.then(|| {
            NetworkHolder::new(
                runner.clone(),
                spec::worker_labels(&settings, &worker.actor_id, &worker.id),
                &worker.id,
            )
        });
        let handle = WorkerHandle::new(records.clone(), worker);
        Self {
            records,
            events: Emitter::new(mailboxes.clone(), settings.default_tenant.clone()),
            mailboxes,
            runner,
            settings,
            handle,
            holder,
            hot: tokio::sync::Mutex::new(None),
        }
    }

    /// The handle for the control service and the process.
    pub fn handle(&self) -> WorkerHandle {
        self.handle.clone()
    }

    fn worker_id(&self) -> &str {
        self.handle.worker_id()
    }

    fn actor_id(&self) -> &str {
        self.handle.actor_id()
    }
}

/// Why a worker stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The mailbox failed; unacked messages go back to it.
    #[error("mailbox: {0}")]
    Mailbox(#[from] MailboxError),
    /// The store failed where a record had to be written before an ack.
    #[error("store: {0}")]
    Store(#[from] AbacoError),
}

enum Flow {
    Continue,
    Stop,
}

/// Runs the worker until `shutdown` (graceful: the current run finishes), a stop through its
/// handle, the actor's deletion or a mailbox failure. The worker record goes READY at the
/// start, BUSY during runs, READY after each, and SHUTTING_DOWN on the way out; removing it is
/// left to whoever manages workers.
pub async fn run_worker(
    ctx: WorkerContext,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let handle = ctx.handle();
    records::set_worker_status(
        &ctx.records,
        handle.snapshot(),
        WorkerStatus::Ready,
        None,
        "",
    )
    .await;
    let result = consume(&ctx, &shutdown).await;
    hot::stop(&ctx).await;
    if let Some(holder) = &ctx.holder {
        holder.remove().await;
    }
    records::set_worker_status(
        &ctx.records,
        handle.snapshot(),
        WorkerStatus::ShuttingDown,
        None,
        "",
    )
    .await;
    result
}

async fn consume(ctx: &WorkerContext, shutdown: &CancellationToken) -> Result<(), WorkerError> {
    let Some(mut consumer) = subscribe::consumer(ctx).await? else {
        return Ok(());
    };
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(()),
            () = ctx.handle.stopped() => return Ok(()),
            next = consumer.next() => next?,
        };
        let Some(delivery) = next else {
            tracing::info!(actor = ctx.actor_id(), "mailbox closed; worker stops");
            return Ok(());
        };
        if let Flow::Stop = process(ctx, delivery).await? {
            return Ok(());
        }
    }
}

async fn process(ctx: &WorkerContext, delivery: Delivery) -> Result<Flow, WorkerError> {
    if ctx.handle.is_stopping() {
        // Taken in the same instant as the stop: not ours to start any more.
        settle(delivery.reject(true).await);
        return Ok(Flow::Stop);
    }
    let message = match pb::MailboxMessage::decode(delivery.body.clone()) {
        Ok(message) if !message.execution_id.is_empty() => message,
        Ok(_) | Err(_) => {
            // Nothing can run it, but it is kept for its owner to see (named by its content,
            // so a redelivery lands on the same dead letter).
            let id = abaco::ids::derived_id(&format!("{:?}", delivery.body.as_ref()));
            let kept = records::dead_letter(
                &ctx.records,
                ctx.actor_id(),
                &id,
                "not a mailbox message this platform can read",
                &delivery.body,
                None,
                ctx.settings.persist,
            )
            .await;
            if let Err(error) = kept {
                return give_back(ctx, delivery, error).await;
            }
            tracing::error!(
                actor = ctx.actor_id(),
                bytes = delivery.body.len(),
                dead_letter = %id,
                "undecodable mailbox message put aside as a dead letter"
            );
            settle(delivery.ack().await);
            return Ok(Flow::Continue);
        }
    };
    if message.actor_id != ctx.actor_id() {
        tracing::warn!(
            actor = ctx.actor_id(),
            named = %message.actor_id,
            "message names another actor; run as this mailbox's actor"
        );
    }
    let mut message = message;
    message.actor_id = ctx.actor_id().to_string();

    // A child of the span that accepted the message, when it carries one.
    let span = tracing::info_span!(
        "execution",
        actor = %message.actor_id,
        execution = %message.execution_id,
        worker = ctx.worker_id(),
        redelivered = delivery.redelivered,
    );
    abaco::trace_context::set_parent_from_map(&span, &message.trace_context);
    execute(ctx, delivery, message).instrument(span).await
}

/// One decoded message, inside its `execution` span: load the actor -> claim -> run -> record
/// -> ack.
async fn execute(
    ctx: &WorkerContext,
    delivery: Delivery,
    message: pb::MailboxMessage,
) -> Result<Flow, WorkerError> {
    let actor = match ctx.records.actor(ctx.actor_id()).await {
        Ok(actor) => actor,
        Err(AbacoError::NotFound(_)) => {
            tracing::info!(actor = ctx.actor_id(), "actor is gone; worker stops");
            settle(delivery.reject(true).await);
            return Ok(Flow::Stop);
        }
        Err(error) => return give_back(ctx, delivery, error).await,
    };
    if actor.revision != ctx.handle.snapshot().revision {
        // The actor was updated: a message accepted after that must run on the new revision's
        // workers, so this one hands it back and goes.
        tracing::info!(
            actor = ctx.actor_id(),
            worker = ctx.worker_id(),
            "actor has a newer revision; message handed back, worker stops"
        );
        settle(delivery.reject(true).await);
        return Ok(Flow::Stop);
    }

    let mut record_wait = None;
    let execution = loop {
        let claimed = records::claim(
            &ctx.records,
            &message,
            ctx.worker_id(),
            delivery.redelivered,
            ctx.settings.liveness_timeout,
            ctx.settings.persist,
        )
        .await;
        match claimed {
            Ok(records::Claim::Run(execution)) => break execution,
            Ok(records::Claim::Finished(execution)) => {
                // Its end may not have been told yet (the worker that recorded it died first).
                if let Err(error) = announce::ended(ctx, &actor, &execution).await {
                    return give_back(ctx, delivery, AbacoError::Unavailable(error.to_string()))
                        .await;
                }
                tracing::info!(execution = %message.execution_id, "already recorded; acked without running");
                settle(delivery.ack().await);
                return Ok(Flow::Continue);
            }
            Ok(records::Claim::Duplicate) => {
                tracing::warn!(execution = %message.execution_id, "duplicate of a running execution; acked");
                settle(delivery.ack().await);
                return Ok(Flow::Continue);
            }
            Ok(records::Claim::Unaccepted) => {
                if ctx.handle.is_stopping() {
                    settle(delivery.reject(true).await);
                    return Ok(Flow::Stop);
                }
                let wait = record_wait.get_or_insert_with(|| {
                    unrecorded::RecordWait::new(&message, ctx.settings.record_wait)
                });
                if !wait.pause(ctx.settings.owner_poll).await {
                    return unrecorded::put_aside(ctx, delivery, &message).await;
                }
            }
            Ok(records::Claim::OtherMessage) => {
                tracing::warn!(execution = %message.execution_id, "message published under an execution id another message had taken; acked without running (its sender sent it again under another)");
                settle(delivery.ack().await);
                return Ok(Flow::Continue);
            }
            Ok(records::Claim::Wait) => {
                // Its owner is alive and will record the outcome; this copy is acked once it
                // has, or run if the owner dies first.
                if ctx.handle.is_stopping() {
                    settle(delivery.reject(true).await);
                    return Ok(Flow::Stop);
                }
                tokio::time::sleep(ctx.settings.owner_poll).await;
            }
            Err(error) => return give_back(ctx, delivery, error).await,
        }
    };

    announce::started(ctx, &actor, &execution);
    // From the moment the record says RUNNING, a force-quit must find this run.
    let cancel = ctx.handle.begin(&execution.id);
    // The tries before this one: their logs head the last one's.
    let mut earlier_logs = String::new();
    let mut tried_before = execution.attempts.len();
    let outcome = loop {
        let spec = run_spec(ctx, &actor, &message).await;
        let mut outcome = run_one(ctx, &actor, &execution.id, spec, cancel.clone()).await;
        if ctx.holder.is_some()
            && outcome
                .as_ref()
                .is_err_and(|error| error.missed_network_holder())
        {
            // Its holder stopped between the check and the start, so it never ran: once
            // more, with the holder replaced (the spec's check finds it gone).
            tracing::warn!(execution = %execution.id, "network holder stopped before the run started; starting the run again");
            let spec = run_spec(ctx, &actor, &message).await;
            outcome = run_one(ctx, &actor, &execution.id, spec, cancel.clone()).await;
        }
        let why = retry::reason(&actor, &outcome, tried_before);
        let Some(why) = why.filter(|_| !cancel.is_cancelled() && !ctx.handle.is_stopping()) else {
            break outcome;
        };
        if let Err(error) = retry::record_try(ctx, &actor.id, &execution.id, &outcome, &why).await {
            ctx.handle.end();
            // Not recorded, so not acked: the message comes back and is tried again.
            settle(delivery.reject(true).await);
            return Err(error.into());
        }
        tried_before += 1;
        earlier_logs.push_str(&retry::log_heading(
            tried_before,
            actor.max_retries as usize + 1,
            &why,
        ));
        if let Ok(run) = &outcome {
            earlier_logs.push_str(&run.logs);
        }
        let pause = retry::backoff(
            ctx.settings.retry_backoff,
            ctx.settings.retry_backoff_max,
            tried_before,
        );
        tracing::info!(execution = %execution.id, tried = tried_before, ?pause, %why, "run tried again");
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = cancel.cancelled() => break outcome,
        }
    };
    ctx.handle.end();

    let recorded = finish::record(ctx, &actor, &execution, outcome, &earlier_logs).await;
    records::set_worker_status(
        &ctx.records,
        ctx.handle.snapshot(),
        WorkerStatus::Ready,
        Some(time::now()),
        "",
    )
    .await;
    let ended = match recorded {
        Ok(ended) => ended,
        Err(error) => {
            // Not recorded, so not acked: the message comes back and runs again.
            settle(delivery.reject(true).await);
            return Err(error.into());
        }
    };
    if let Err(error) = announce::ended(ctx, &actor, &ended).await {
        // Recorded but not told: the message comes back, finds the record final, and tells.
        return give_back(ctx, delivery, AbacoError::Unavailable(error.to_string())).await;
    }
    settle(delivery.ack().await);
    Ok(Flow::Continue)
}

/// One try of a message: in the actor's hot container, or in a fresh one.
async fn run_one(
    ctx: &WorkerContext,
    actor: &pb::Actor,
    execution_id: &str,
    spec: RunSpec,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<RunOutcome, RunError> {
    if hot::wanted(actor) {
        hot::run(ctx, actor, execution_id, spec, cancel).await
    } else {
        show_busy(ctx, spec.name.as_deref().unwrap_or_default()).await;
        ctx.runner.run(spec, cancel).await
    }
}

/// The worker record says BUSY in `container`.
async fn show_busy(ctx: &WorkerContext, container: &str) {
    records::set_worker_status(
        &ctx.records,
        ctx.handle.snapshot(),
        WorkerStatus::Busy,
        None,
        container,
    )
    .await;
}

/// Hands a message back after a store failure and pauses (`store_backoff`).
async fn give_back(
    ctx: &WorkerContext,
    delivery: Delivery,
    error: AbacoError,
) -> Result<Flow, WorkerError> {
    tracing::warn!(%error, "store failed; message given back");
    settle(delivery.reject(true).await);
    tokio::time::sleep(ctx.settings.store_backoff).await;
    Ok(Flow::Continue)
}

/// An ack or reject that fails is logged: the broker will hand the message out again, and
/// the execution record decides what happens then.
fn settle(result: Result<(), MailboxError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "could not settle a delivery; it will come back");
    }
}
