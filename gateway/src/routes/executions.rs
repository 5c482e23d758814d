//! `/actors/{id}/executions...`: Registration calls, and the raw results from Messages.

use abaco::pb;
use axum::{
    extract::{Path, RawQuery, State, rejection::PathRejection},
    response::{IntoResponse, Response},
};
use http::header;

use super::{follow, search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller};

type ExecutionPath = Result<Path<(String, String)>, PathRejection>;

pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    if let Some(params) = search::search_params(query.as_deref())? {
        let scope = search::Scope {
            kind: "executions",
            actor_id,
            execution_id: String::new(),
            message: "Executions search completed successfully.",
        };
        return search::run(&gw, &caller, params, scope).await;
    }
    let summary = gw
        .registration()
        .list_executions(caller.request(pb::ListExecutionsRequest { actor_id })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor executions retrieved successfully.",
        view(&gw, &caller).execution_summary(&summary),
    ))
}

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
