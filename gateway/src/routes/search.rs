//! `/actors/search/{type}`, and the list routes given query parameters (abaco turns
//! `GET /actors?status=READY` into a search): the Registration service's Search.

use crate::openapi as doc;
use abaco::pb;
use axum::extract::{Path, RawQuery, State, rejection::PathRejection};
use serde_json::Value;

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller};

/// What to search and how the answer is worded.
pub(super) struct Scope<'a> {
    pub(super) kind: &'a str,
    pub(super) actor_id: String,
    pub(super) execution_id: String,
    pub(super) message: &'a str,
}

#[utoipa::path(
    get,
    operation_id = "search_search",
    path = "/actors/search/{kind}",
    tag = "search",
    summary = "Search actors, workers, executions or logs",
    params(doc::SearchPath),
    responses((status = 200, description = "A page of results", body = doc::Envelope<doc::SearchPage>))
)]
pub(super) async fn search(
    State(gw): State<Gateway>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Reply, ApiError> {
    let Path(kind) = path?;
    let params = params(query.as_deref())?;
    run(
        &gw,
        &caller,
        params,
        Scope {
            kind: &kind,
            actor_id: String::new(),
            execution_id: String::new(),
            message: "Search completed successfully.",
        },
    )
    .await
}

/// The query string's parameters in order; refuses one that does not decode.
pub(super) fn params(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

/// Whether these parameters of a list route ask for a search (as in abaco, a nonce and the
/// platform's own `_abaco_*` parameters do not make a search).
pub(super) fn is_search(params: &[(String, String)]) -> bool {
    params
        .iter()
        .any(|(key, _)| key != "x-nonce" && !key.starts_with("_abaco"))
}

pub(super) async fn run(
    gw: &Gateway,
    caller: &Caller,
    params: Vec<(String, String)>,
    scope: Scope<'_>,
) -> Result<Reply, ApiError> {
    let found = gw
        .registration()
        .search(
            caller.request(pb::SearchRequest {
                kind: scope.kind.to_owned(),
                params: params
                    .into_iter()
                    .map(|(key, value)| pb::QueryParam { key, value })
                    .collect(),
                actor_id: scope.actor_id,
                execution_id: scope.execution_id,
            })?,
        )
        .await?
        .into_inner();
    let view = view(gw, caller);
    let items: Vec<Value> = found
        .actors
        .iter()
        .map(|a| view.actor(a))
        .chain(found.executions.iter().map(|e| view.execution(e)))
        .chain(found.workers.iter().map(|w| view.worker(w)))
        .chain(found.logs.iter().map(|l| view.logs(&l.actor_id, l)))
        .collect();
    Ok(Reply::ok(
        scope.message,
        view.search_page(&found.metadata.unwrap_or_default(), items),
    ))
}
