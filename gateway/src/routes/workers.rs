//! `/actors/{id}/workers...` and `/actors/utilization`: Admin calls.

use abaco::pb;
use axum::extract::{
    Path, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type WorkerPath = Result<Path<(String, String)>, PathRejection>;

pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let workers = gw
        .admin()
        .list_workers(caller.request(pb::ActorRef { actor_id })?)
        .await?
        .into_inner()
        .workers;
    Ok(Reply::ok(
        "Workers retrieved successfully.",
        view(&gw, &caller).workers(&workers),
    ))
}

pub(super) async fn ensure(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let num = input::worker_count(&body?)?;
    let workers = gw
        .admin()
        .ensure_workers(caller.request(pb::EnsureWorkersRequest { actor_id, num })?)
        .await?
        .into_inner()
        .workers;
    Ok(Reply::ok(
        "Workers requested.",
        view(&gw, &caller).workers(&workers),
    ))
}

pub(super) async fn get(
    State(gw): State<Gateway>,
    caller: Caller,
    path: WorkerPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, worker_id)) = path?;
    let worker = gw
        .admin()
        .get_worker(caller.request(pb::WorkerRef {
            actor_id,
            worker_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Worker retrieved successfully.",
        view(&gw, &caller).worker(&worker),
    ))
}

pub(super) async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    path: WorkerPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, worker_id)) = path?;
    let worker = gw
        .admin()
        .delete_worker(caller.request(pb::WorkerRef {
            actor_id,
            worker_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Worker scheduled to be stopped.",
        view(&gw, &caller).worker(&worker),
    ))
}

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

/// `GET /actors/admin`: every actor of the platform.
pub(super) async fn all_actors(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let actors = gw
        .admin()
        .list_all_actors(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .actors;
    let view = view(&gw, &caller);
    Ok(Reply::ok(
        "Actors retrieved successfully.",
        actors
            .iter()
            .map(|a| view.actor(a))
            .collect::<Vec<_>>()
            .into(),
    ))
}

/// `GET /actors/admin/workers`: every worker of the platform.
pub(super) async fn all_workers(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let workers = gw
        .admin()
        .list_all_workers(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .workers;
    Ok(Reply::ok(
        "Workers retrieved successfully.",
        view(&gw, &caller).workers(&workers),
    ))
}

/// `GET /actors/admin/executions`: every execution of the platform.
pub(super) async fn all_executions(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let executions = gw
        .admin()
        .list_all_executions(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .executions;
    let view = view(&gw, &caller);
    Ok(Reply::ok(
        "Executions retrieved successfully.",
        executions
            .iter()
            .map(|e| view.execution(e))
            .collect::<Vec<_>>()
            .into(),
    ))
}
