//! Runs of hot actors (`hints: ["hot"]`): the worker keeps one container of the actor and
//! hands it each message (see the container module's hot protocol), starting a fresh one
//! when there is none or the last one ended with its message.

use abaco::pb;
use tokio_util::sync::CancellationToken;

use super::{WorkerContext, spec::worker_labels};
use crate::container::{HotContainer, HotMessage, LABEL_ROLE, RunError, RunOutcome, RunSpec};

/// The hint that makes an actor hot.
pub const HOT_HINT: &str = "hot";

/// Variables of a run that do not change from message to message, which the hot container
/// gets in its own environment (besides the actor's default environment).
const CONTAINER_CONTRACT: [&str; 7] = [
    "_abaco_actor_id",
    "_abaco_actor_name",
    "_abaco_actor_dbid",
    "_abaco_worker_id",
    "_abaco_api_server",
    "_abaco_container_repo",
    "_abaco_actor_revision",
];

/// Whether `actor`'s messages go to a hot container.
pub(super) fn wanted(actor: &pb::Actor) -> bool {
    actor.hints.iter().any(|hint| hint == HOT_HINT)
}

/// Runs one message of a hot actor, `spec` being the fresh container it would otherwise get.
pub(super) async fn run(
    ctx: &WorkerContext,
    actor: &pb::Actor,
    execution_id: &str,
    spec: RunSpec,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let made_of = container_spec(ctx, actor, &spec);
    let fingerprint = fingerprint(&made_of);
    let mut slot = ctx.hot.lock().await;
    let kept = match slot.take() {
        Some(current) => still_serving(current, &fingerprint, &actor.id).await,
        None => None,
    };
    let container = match kept {
        Some(container) => container,
        None => ctx.runner.start_hot(&made_of, fingerprint).await?,
    };
    let container = slot.insert(container);
    super::show_busy(ctx, container.id()).await;
    let message = HotMessage {
        execution_id: execution_id.to_string(),
        env: spec.env,
        binary: spec.binary_input,
        max_run_time: spec.max_run_time,
        log_cap: spec.log_cap,
        results_cap: spec.results_cap,
    };
    let handed = container.hand(message, cancel).await;
    if !handed.reusable
        && let Some(container) = slot.take()
    {
        container.remove().await;
    }
    Ok(handed.outcome)
}

/// `current`, if it can take the next message: made as `fingerprint` says and still
/// running; otherwise it is removed.
async fn still_serving(
    mut current: HotContainer,
    fingerprint: &str,
    actor_id: &str,
) -> Option<HotContainer> {
    let why = if current.fingerprint() != fingerprint {
        // A fresh run would see the change (environment, limits, ...), so must this one, even
        // without a new revision.
        "actor changed"
    } else if current.ended_idle() {
        // Killed from outside, or its program quit: the next message never reached it.
        "ended while idle"
    } else {
        return Some(current);
    };
    tracing::info!(
        actor = actor_id,
        container = current.id(),
        why,
        "hot container replaced"
    );
    current.remove().await;
    None
}

/// What makes two hot containers the same: everything they are created from but their name.
fn fingerprint(spec: &RunSpec) -> String {
    format!(
        "{:?}",
        (
            &spec.image,
            &spec.env,
            spec.mem_limit,
            spec.nano_cpus,
            spec.privileged,
            &spec.user,
            &spec.mounts,
        )
    )
}

/// Removes the worker's hot container, if it has one.
pub(super) async fn stop(ctx: &WorkerContext) {
    if let Some(container) = ctx.hot.lock().await.take() {
        container.remove().await;
    }
}

/// The hot container of `actor`: the message's limits and identity, its own network
/// namespace (it lives long, so setting one up costs once), and only the environment that
/// holds for every message.
fn container_spec(ctx: &WorkerContext, actor: &pb::Actor, message_spec: &RunSpec) -> RunSpec {
    let mut labels = worker_labels(&ctx.settings, &actor.id, ctx.worker_id());
    labels.insert(LABEL_ROLE.to_string(), "hot".to_string());
    RunSpec {
        name: Some(format!(
            "abaco-hot-{}-{}",
            ctx.worker_id(),
            abaco::ids::new_id()
        )),
        env: message_spec
            .env
            .iter()
            .filter(|(name, _)| {
                CONTAINER_CONTRACT.contains(&name.as_str())
                    || actor.default_environment.contains_key(name)
            })
            .cloned()
            .collect(),
        labels,
        binary_input: None,
        network_of: None,
        ..message_spec.clone()
    }
}
