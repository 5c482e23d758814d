//! `/actors/{id}/executions...`: Registration calls, and the raw results from Messages.

use crate::openapi as doc;
use abaco::pb;
use axum::{
    extract::{Path, RawQuery, State, rejection::PathRejection},
    response::{IntoResponse, Response},
};
use http::header;

use super::{follow, paging, search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller};

type ExecutionPath = Result<Path<(String, String)>, PathRejection>;

#[utoipa::path(
    get,
    operation_id = "executions_list",
    path = "/actors/{actor_id}/executions",
    tag = "executions",
    summary = "List a page of an actor's executions, oldest first",
    params(doc::ActorPath, doc::ExecutionsPage),
    responses((status = 200, description = "The page (with `cursor`, or no query); with other query parameters, a search", body = doc::Envelope<doc::ExecutionsOrSearch>))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let params = search::params(query.as_deref())?;
    let mut request = pb::ListExecutionsRequest {
        actor_id,
        ..Default::default()
    };
    match paging::wants(&params)? {
        paging::Wants::Listing(Some(page)) => {
            (request.cursor, request.skip, request.limit) = (page.cursor, page.skip, page.limit);
        }
        paging::Wants::Listing(None) => {}
        paging::Wants::Search => {
            let scope = search::Scope {
                kind: "executions",
                actor_id: request.actor_id,
                execution_id: String::new(),
                message: "Executions search completed successfully.",
            };
            return search::run(&gw, &caller, params, scope).await;
        }
    }
    let summary = gw
        .registration()
        .list_executions(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor executions retrieved successfully.",
        view(&gw, &caller).execution_summary(&summary),
    ))
}

#[utoipa::path(
    get,
    operation_id = "executions_get",
    path = "/actors/{actor_id}/executions/{execution_id}",
    tag = "executions",
    summary = "Get an execution",
    params(doc::ExecutionPath),
    responses((status = 200, description = "The execution", body = doc::Envelope<doc::Execution>))
)]
pub(super) async fn get(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ExecutionPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, execution_id)) = path?;
    let execution = gw
        .registration()
        .get_execution(caller.request(pb::GetExecutionRequest {
            actor_id,
            execution_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor execution retrieved successfully.",
        view(&gw, &caller).execution(&execution),
    ))
}

#[utoipa::path(
    delete,
    operation_id = "executions_force_quit",
    path = "/actors/{actor_id}/executions/{execution_id}",
    tag = "executions",
    summary = "Stop a running execution (force-quit)",
    params(doc::ExecutionPath),
    responses((status = 200, description = "The execution, its stop requested", body = doc::Envelope<doc::Execution>))
)]
pub(super) async fn force_quit(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ExecutionPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, execution_id)) = path?;
    let execution = gw
        .registration()
        .force_quit_execution(caller.request(pb::GetExecutionRequest {
            actor_id,
            execution_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Execution force-quit requested.",
        view(&gw, &caller).execution(&execution),
    ))
}

#[utoipa::path(
    get,
    operation_id = "executions_logs",
    path = "/actors/{actor_id}/executions/{execution_id}/logs",
    tag = "executions",
    summary = "An execution's logs",
    params(doc::ExecutionPath, doc::LogsQuery),
    responses((status = 200, description = "The logs; with `follow=true`, a stream of server-sent events (each event a chunk of the log) until the run ends", content((doc::Envelope<doc::Logs> = "application/json"), (String = "text/event-stream"))))
)]
pub(super) async fn logs(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ExecutionPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path((actor_id, execution_id)) = path?;
    let mut params = search::params(query.as_deref())?;
    if let Some(at) = params.iter().position(|(key, _)| key == "follow") {
        let (_, value) = params.remove(at);
        if value.eq_ignore_ascii_case("true") {
            return follow::logs(&gw, &caller, actor_id, execution_id).await;
        }
    }
    if search::is_search(&params) {
        let scope = search::Scope {
            kind: "logs",
            actor_id,
            execution_id,
            message: "Log search completed successfully.",
        };
        return Ok(search::run(&gw, &caller, params, scope)
            .await?
            .into_response());
    }
    let logs = gw
        .registration()
        .get_execution_logs(caller.request(pb::GetExecutionRequest {
            actor_id: actor_id.clone(),
            execution_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Logs retrieved successfully.",
        view(&gw, &caller).logs(&actor_id, &logs),
    )
    .into_response())
}

/// The bytes the container wrote, as they are: no envelope on success (abaco does the same).
#[utoipa::path(
    get,
    operation_id = "executions_results",
    path = "/actors/{actor_id}/executions/{execution_id}/results",
    tag = "executions",
    summary = "The bytes an execution wrote to its results socket, as they are (no envelope)",
    params(doc::ExecutionPath),
    responses((status = 200, description = "The results", content_type = "application/octet-stream", body = doc::Binary))
)]
pub(super) async fn results(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ExecutionPath,
) -> Result<Response, ApiError> {
    let Path((actor_id, execution_id)) = path?;
    let results = gw
        .messages()
        .get_results(caller.request(pb::GetExecutionRequest {
            actor_id,
            execution_id,
        })?)
        .await?
        .into_inner();
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        results.results,
    )
        .into_response())
}
