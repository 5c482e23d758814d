//! `/actors`, `/actors/{id}` and `/actors/{id}/state`: Registration calls.

use abaco::pb;
use axum::extract::{
    Path, RawQuery, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::{search, view};
use crate::{
    Gateway,
    envelope::Reply,
    error::ApiError,
    identity::Caller,
    input::{self, ActorMode},
};

type Body = Result<Bytes, BytesRejection>;
type ActorPath = Result<Path<String>, PathRejection>;

pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Reply, ApiError> {
    if let Some(params) = search::search_params(query.as_deref())? {
        let scope = search::Scope {
            kind: "actors",
            actor_id: String::new(),
            execution_id: String::new(),
            message: "Actors search completed successfully.",
        };
        return search::run(&gw, &caller, params, scope).await;
    }
    let actors = gw
        .registration()
        .list_actors(caller.request(pb::ListActorsRequest {})?)
        .await?
        .into_inner()
        .actors;
    let view = view(&gw, &caller);
    let result = actors.iter().map(|a| view.actor(a)).collect();
    Ok(Reply::ok(
        "Actors retrieved successfully.",
        Value::Array(result),
    ))
}

pub(super) async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let input = input::actor(&body?, ActorMode::Create, input::is_form(&headers))?;
    let actor = gw
        .registration()
        .create_actor(caller.request(pb::CreateActorRequest {
            spec: Some(input.spec),
        })?)
        .await?
        .into_inner();
    // abaco answers a registration with 200, not 201; clients check for it.
    Ok(Reply::ok(
        "Actor created successfully.",
        view(&gw, &caller).actor(&actor),
    ))
}

pub(super) async fn get(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let actor = gw
        .registration()
        .get_actor(caller.request(pb::GetActorRequest { actor_id })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor retrieved successfully.",
        view(&gw, &caller).actor(&actor),
    ))
}

/// `PUT /actors/{id}`: replaces the actor, as abaco's PUT does (the image is required, and
/// fields left out take their defaults).
pub(super) async fn replace(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    update(&gw, &caller, path, &headers, &body?, true).await
}

/// `PATCH /actors/{id}`: changes only the fields given (ours; abaco has no PATCH).
pub(super) async fn patch(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    update(&gw, &caller, path, &headers, &body?, false).await
}

async fn update(
    gw: &Gateway,
    caller: &Caller,
    path: ActorPath,
    headers: &HeaderMap,
    body: &[u8],
    replace: bool,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let input = input::actor(body, ActorMode::Update, input::is_form(headers))?;
    let actor = gw
        .registration()
        .update_actor(caller.request(pb::UpdateActorRequest {
            actor_id,
            spec: Some(input.spec),
            force: input.force,
            replace,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor updated successfully.",
        view(gw, caller).actor(&actor),
    ))
}

pub(super) async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    gw.registration()
        .delete_actor(caller.request(pb::DeleteActorRequest { actor_id })?)
        .await?;
    Ok(Reply::ok("Actor deleted successfully.", Value::Null))
}

pub(super) async fn get_state(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let state = gw
        .registration()
        .get_state(caller.request(pb::GetStateRequest { actor_id })?)
        .await?
        .into_inner();
    state_reply(&gw, &caller, "State retrieved successfully.", &state)
}

pub(super) async fn set_state(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let body = body?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("state must be a JSON value"));
    }
    let state = if input::is_form(&headers) {
        // abaco's clients post `state=<value>` as a form; the value is kept as text.
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::bad_request(format!("malformed form body: {e}")))?;
        let value = fields
            .into_iter()
            .find_map(|(name, value)| (name == "state").then_some(value))
            .ok_or_else(|| ApiError::bad_request("form field \"state\" is required"))?;
        Value::String(value)
    } else {
        input::parse_json(&body)?
    };
    let state = gw
        .registration()
        .set_state(caller.request(pb::SetStateRequest {
            actor_id,
            state_json: state.to_string(),
        })?)
        .await?
        .into_inner();
    state_reply(&gw, &caller, "State updated successfully.", &state)
}

fn state_reply(
    gw: &Gateway,
    caller: &Caller,
    message: &str,
    state: &pb::ActorState,
) -> Result<Reply, ApiError> {
    // A service that never stored a state answers an empty text: no state yet.
    let value = if state.state_json.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&state.state_json).map_err(|e| {
            tracing::error!(actor = %state.actor_id, error = %e, "stored state is not JSON");
            ApiError::internal()
        })?
    };
    Ok(Reply::ok(
        message,
        view(gw, caller).state(&state.actor_id, value),
    ))
}
