//! `/actors/{id}/workers...`: Admin calls about one actor's workers.

use crate::openapi as doc;
use abaco::pb;
use axum::{
    extract::{
        Path, RawQuery, State,
        rejection::{BytesRejection, PathRejection},
    },
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use super::{paging, search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type WorkerPath = Result<Path<(String, String)>, PathRejection>;

#[utoipa::path(
    get,
    operation_id = "workers_list",
    path = "/actors/{actor_id}/workers",
    tag = "workers",
    summary = "List an actor's workers, in the order they were made",
    params(doc::ActorPath, doc::CursorPage),
    responses((status = 200, description = "The workers (a page of them with `cursor`); with other query parameters, a search", body = doc::Envelope<doc::WorkersOrSearch>, headers(("X-Next-Cursor" = String, description = "The cursor of the next page, when there is one"))))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(actor_id) = path?;
    let params = search::params(query.as_deref())?;
    let page = match paging::wants(&params)? {
        paging::Wants::Listing(page) => page,
        paging::Wants::Search => {
            let scope = search::Scope {
                kind: "workers",
                actor_id,
                execution_id: String::new(),
                message: "Workers search completed successfully.",
            };
            return Ok(search::run(&gw, &caller, params, scope)
                .await?
                .into_response());
        }
    };
    let listed = gw
        .admin()
        .list_workers(caller.request(pb::ListWorkersRequest { actor_id, page })?)
        .await?
        .into_inner();
    Ok(paging::with_next(
        Reply::ok(
            "Workers retrieved successfully.",
            view(&gw, &caller).workers(&listed.workers),
        ),
        &listed.next_cursor,
    ))
}

#[utoipa::path(
    post,
    operation_id = "workers_ensure",
    path = "/actors/{actor_id}/workers",
    tag = "workers",
    summary = "Ask for at least `num` workers",
    params(doc::ActorPath),
    request_body = doc::WorkersBody,
    responses((status = 200, description = "The workers", body = doc::Envelope<Vec<doc::Worker>>))
)]
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

#[utoipa::path(
    get,
    operation_id = "workers_get",
    path = "/actors/{actor_id}/workers/{worker_id}",
    tag = "workers",
    summary = "Get a worker",
    params(doc::WorkerPath),
    responses((status = 200, description = "The worker", body = doc::Envelope<doc::Worker>))
)]
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

#[utoipa::path(
    delete,
    operation_id = "workers_delete",
    path = "/actors/{actor_id}/workers/{worker_id}",
    tag = "workers",
    summary = "Stop a worker (its current run finishes first)",
    params(doc::WorkerPath),
    responses((status = 200, description = "The worker, its stop scheduled", body = doc::Envelope<doc::Worker>))
)]
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
