//! `/actors/{id}/workers...`: Admin calls about one actor's workers.

use abaco::pb;
use axum::extract::{
    Path, RawQuery, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;

use super::{search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type WorkerPath = Result<Path<(String, String)>, PathRejection>;

pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    if let Some(params) = search::search_params(query.as_deref())? {
        let scope = search::Scope {
            kind: "workers",
            actor_id,
            execution_id: String::new(),
            message: "Workers search completed successfully.",
        };
        return search::run(&gw, &caller, params, scope).await;
    }
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
    headers: http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let num = input::worker_count(&body?, input::is_form(&headers))?;
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
