//! What one run is: the image, the environment of the container contract, the labels, and
//! the limits and identity it runs with.

use std::{collections::HashMap, time::Duration};

use abaco::{ids, limits, pb, store::Table};
use bytes::Bytes;

use super::{RunContext, WorkerContext, WorkerSettings, env};
use crate::container::{
    LABEL_ACTOR, LABEL_EXECUTION, LABEL_INSTANCE, LABEL_NAMESPACE, LABEL_WORKER, RunSpec,
};

/// The run of `message` for `actor`.
pub(super) async fn run_spec(
    ctx: &WorkerContext,
    actor: &pb::Actor,
    message: &pb::MailboxMessage,
) -> RunSpec {
    let state_json = if actor.stateless {
        "{}".to_string()
    } else {
        match ctx.records.get_blob(Table::State, &actor.id).await {
            Ok(Some(state)) if !state.is_empty() => String::from_utf8_lossy(&state).into_owned(),
            Ok(_) => "{}".to_string(),
            Err(error) => {
                tracing::warn!(actor = %actor.id, %error, "state unreadable; run gets {{}}");
                "{}".to_string()
            }
        }
    };
    // A fresh token per run, for the actor's owner, when the actor asks and the platform
    // can sign one.
    let access_token = match (&ctx.settings.access_tokens, actor.token) {
        (Some(minter), true) => minter.mint(tenant_of(ctx, actor), &actor.owner, &actor.id),
        _ => None,
    };
    let actor_configs = actor_configs(ctx, actor).await;
    let env = env::build(
        actor,
        message,
        RunContext {
            worker_id: ctx.worker_id(),
            api_server: &ctx.settings.api_server,
            state_json: &state_json,
            access_token: access_token.as_deref(),
            actor_configs: &actor_configs,
        },
    );
    let nonzero = |v: u64| (v > 0).then_some(v);
    RunSpec {
        // Known before the container exists, so the worker record can show it (`cid`) from
        // the start of the run.
        name: Some(format!("abaco-{}-{}", message.execution_id, ids::new_id())),
        image: actor.image.clone(),
        env,
        labels: {
            let mut labels = worker_labels(&ctx.settings, &actor.id, ctx.worker_id());
            labels.insert(LABEL_EXECUTION.to_string(), message.execution_id.clone());
            labels
        },
        mem_limit: mem_limit(ctx, actor),
        nano_cpus: limits::effective(actor.max_cpus, ctx.settings.default_nano_cpus),
        binary_input: env::is_binary(message).then(|| Bytes::from(message.body.clone())),
        max_run_time: nonzero(u64::from(actor.max_run_time))
            .map(Duration::from_secs)
            .or(ctx.settings.default_max_run_time),
        log_cap: ctx.settings.log_cap,
        results_cap: ctx.settings.results_cap,
        privileged: actor.privileged,
        user: if actor.use_container_uid {
            None
        } else {
            ctx.settings.run_user.clone()
        },
        // The tenant's mounts, then the actor's own (both set by administrators only).
        mounts: ctx
            .settings
            .mounts
            .binds(tenant_of(ctx, actor), &actor.owner)
            .into_iter()
            .chain(actor.mounts.iter().map(|mount| {
                format!(
                    "{}:{}:{}",
                    mount.host_path, mount.container_path, mount.mode
                )
            }))
            .collect(),
        // A hot container lives long and pays for a namespace of its own once.
        network_of: match &ctx.holder {
            Some(holder) if !super::hot::wanted(actor) => holder.ensure().await,
            _ => None,
        },
    }
}

/// The labels of every container of a worker: whose platform, actor and worker it is.
pub(super) fn worker_labels(
    settings: &WorkerSettings,
    actor_id: &str,
    worker_id: &str,
) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_NAMESPACE.to_string(), settings.namespace.clone()),
        (LABEL_INSTANCE.to_string(), settings.instance.clone()),
        (LABEL_ACTOR.to_string(), actor_id.to_string()),
        (LABEL_WORKER.to_string(), worker_id.to_string()),
    ])
}

/// The configs of the actor's runs as one JSON object (`{}` when none, as abaco gives it).
async fn actor_configs(ctx: &WorkerContext, actor: &pb::Actor) -> String {
    match abaco_configs::configs_of(&ctx.records, ctx.settings.configs_key.as_ref(), &actor.id)
        .await
    {
        Ok(configs) => serde_json::to_string(&configs).unwrap_or_else(|_| "{}".into()),
        Err(error) => {
            tracing::warn!(actor = %actor.id, %error, "configs unreadable; run gets {{}}");
            "{}".into()
        }
    }
}

/// The memory limit of the actor's runs: its own, else the platform's.
pub(super) fn mem_limit(ctx: &WorkerContext, actor: &pb::Actor) -> Option<u64> {
    limits::effective(actor.mem_limit, ctx.settings.default_mem_limit)
}

/// The tenant of an actor (records from before tenants belong to the default one).
fn tenant_of<'a>(ctx: &'a WorkerContext, actor: &'a pb::Actor) -> &'a str {
    if actor.tenant.is_empty() {
        &ctx.settings.default_tenant
    } else {
        &actor.tenant
    }
}
