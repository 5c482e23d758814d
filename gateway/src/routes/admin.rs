//! `/actors/utilization` and `/actors/admin...`: tenant-wide Admin calls, for administrators,
//! answered in abaco's shapes (computed here from the services' plain listings).

use crate::openapi as doc;
use std::collections::HashMap;

use abaco::{pb, status};
use axum::extract::State;
use serde_json::{Value, json};

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, views::key};

#[utoipa::path(
    get,
    operation_id = "admin_utilization",
    path = "/actors/utilization",
    tag = "admin",
    summary = "Figures of the caller's tenant",
    responses((status = 200, description = "The figures", body = doc::Envelope<doc::Utilization>))
)]
pub(super) async fn utilization(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let utilization = gw
        .admin()
        .get_utilization(caller.request(pb::UtilizationRequest {})?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Utilization retrieved successfully.",
        view(&gw, &caller).utilization(&utilization),
    ))
}

async fn actors(gw: &Gateway, caller: &Caller) -> Result<Vec<pb::Actor>, ApiError> {
    Ok(gw
        .admin()
        .list_all_actors(caller.request(pb::AdminListRequest::default())?)
        .await?
        .into_inner()
        .actors)
}

async fn workers(gw: &Gateway, caller: &Caller) -> Result<Vec<pb::Worker>, ApiError> {
    Ok(gw
        .admin()
        .list_all_workers(caller.request(pb::AdminListRequest::default())?)
        .await?
        .into_inner()
        .workers)
}

/// Every execution of the tenant, a page at a time: abaco's admin figures are totals over all
/// of them.
async fn executions(gw: &Gateway, caller: &Caller) -> Result<Vec<pb::Execution>, ApiError> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = gw
            .admin()
            .list_all_executions(caller.request(pb::AdminListRequest {
                page: Some(pb::PageRequest {
                    cursor,
                    ..Default::default()
                }),
            })?)
            .await?
            .into_inner();
        all.extend(page.executions);
        if page.next_cursor.is_empty() {
            return Ok(all);
        }
        cursor = page.next_cursor;
    }
}

/// Totals of one actor's executions: count, runtime, cpu, io.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    count: u64,
    runtime: u64,
    cpu: u64,
    io: u64,
}

fn totals_by_actor(executions: &[pb::Execution]) -> HashMap<&str, Totals> {
    let mut totals: HashMap<&str, Totals> = HashMap::new();
    for e in executions {
        let t = totals.entry(e.actor_id.as_str()).or_default();
        t.count += 1;
        t.runtime += e.runtime;
        t.cpu += e.cpu;
        t.io += e.io;
    }
    totals
}

/// `GET /actors/admin`: every actor of the tenant, each with its workers, the messages in its
/// mailbox and the totals of its executions.
#[utoipa::path(
    get,
    operation_id = "admin_all_actors",
    path = "/actors/admin",
    tag = "admin",
    summary = "Every actor of the tenant with its workers and totals (administrators)",
    responses((status = 200, description = "The actors", body = doc::Envelope<Vec<doc::AdminActor>>))
)]
pub(super) async fn all_actors(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let actors = actors(&gw, &caller).await?;
    let workers = workers(&gw, &caller).await?;
    let executions = executions(&gw, &caller).await?;
    let totals = totals_by_actor(&executions);
    let view = view(&gw, &caller);
    let case = gw.settings().case;
    let mut listed = Vec::with_capacity(actors.len());
    for actor in &actors {
        let messages = gw
            .messages()
            .count_messages(caller.request(pb::ActorRef {
                actor_id: actor.id.clone(),
            })?)
            .await
            .map(|count| count.into_inner().messages)
            .ok();
        let own: Vec<pb::Worker> = workers
            .iter()
            .filter(|w| w.actor_id == actor.id)
            .cloned()
            .collect();
        let t = totals.get(actor.id.as_str()).copied().unwrap_or_default();
        let mut shown = view.actor(actor);
        if let Value::Object(map) = &mut shown {
            map.insert("workers".into(), view.workers(&own));
            map.insert("messages".into(), messages.map_or(Value::Null, Value::from));
            map.insert("executions".into(), t.count.into());
            map.insert(key("runtime", case), t.runtime.into());
        }
        listed.push(shown);
    }
    Ok(Reply::ok("Actors retrieved successfully.", listed.into()))
}

/// `GET /actors/admin/workers`: a summary by status and every worker of the tenant.
#[utoipa::path(
    get,
    operation_id = "admin_all_workers",
    path = "/actors/admin/workers",
    tag = "admin",
    summary = "Every worker of the tenant (administrators)",
    responses((status = 200, description = "The workers", body = doc::Envelope<doc::AdminWorkers>))
)]
pub(super) async fn all_workers(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let actors = actors(&gw, &caller).await?;
    let workers = workers(&gw, &caller).await?;
    let count = |wanted: pb::WorkerStatus| workers.iter().filter(|w| w.status() == wanted).count();
    let staffed: std::collections::HashSet<&str> =
        workers.iter().map(|w| w.actor_id.as_str()).collect();
    let case = gw.settings().case;
    let summary: serde_json::Map<String, Value> = [
        ("totalWorkers", workers.len()),
        ("readyWorkers", count(pb::WorkerStatus::Ready)),
        ("requestedWorkers", count(pb::WorkerStatus::Requested)),
        ("errorWorkers", count(pb::WorkerStatus::Error)),
        ("busyWorkers", count(pb::WorkerStatus::Busy)),
        (
            "actorsNoWorkers",
            actors
                .iter()
                .filter(|a| !staffed.contains(a.id.as_str()))
                .count(),
        ),
    ]
    .into_iter()
    .map(|(name, n)| (key(name, case), Value::from(n)))
    .collect();
    Ok(Reply::ok(
        "Workers retrieved successfully.",
        json!({"summary": summary, "workers": view(&gw, &caller).workers(&workers)}),
    ))
}

/// `GET /actors/admin/executions`: the tenant's totals, and each actor's.
#[utoipa::path(
    get,
    operation_id = "admin_all_executions",
    path = "/actors/admin/executions",
    tag = "admin",
    summary = "Execution totals of the tenant and of each actor (administrators)",
    responses((status = 200, description = "The totals", body = doc::Envelope<doc::AdminExecutions>))
)]
pub(super) async fn all_executions(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let actors = actors(&gw, &caller).await?;
    let executions = executions(&gw, &caller).await?;
    let totals = totals_by_actor(&executions);
    let case = gw.settings().case;
    let with_executions = actors
        .iter()
        .filter(|a| totals.contains_key(a.id.as_str()))
        .count();
    let all = totals.values().fold(Totals::default(), |sum, t| Totals {
        count: sum.count + t.count,
        runtime: sum.runtime + t.runtime,
        cpu: sum.cpu + t.cpu,
        io: sum.io + t.io,
    });
    let obj = |pairs: Vec<(&str, Value)>| -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(name, value)| (key(name, case), value))
                .collect(),
        )
    };
    let summary = obj(vec![
        ("totalActorsExisting", actors.len().into()),
        ("totalActorsExistingWithExecutions", with_executions.into()),
        ("totalExecutionsExisting", all.count.into()),
        ("totalExecutionRuntimeExisting", all.runtime.into()),
        ("totalExecutionCpuExisting", all.cpu.into()),
        ("totalExecutionIoExisting", all.io.into()),
    ]);
    let per_actor: Vec<Value> = actors
        .iter()
        .map(|a| {
            let t = totals.get(a.id.as_str()).copied().unwrap_or_default();
            obj(vec![
                ("actorId", a.id.as_str().into()),
                ("owner", a.owner.as_str().into()),
                ("image", a.image.as_str().into()),
                ("status", status::actor(a.status()).into()),
                ("totalExecutions", t.count.into()),
                ("totalExecutionCpu", t.cpu.into()),
                ("totalExecutionIo", t.io.into()),
                ("totalExecutionRuntime", t.runtime.into()),
            ])
        })
        .collect();
    Ok(Reply::ok(
        "Executions retrieved successfully.",
        json!({"summary": summary, "actors": per_actor}),
    ))
}
