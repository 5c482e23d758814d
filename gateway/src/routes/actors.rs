//! `/actors`, `/actors/{id}` and `/actors/{id}/state`: Registration calls.

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
use http::HeaderMap;
use serde_json::Value;

use super::{paging, search, view};
use crate::{
    Gateway,
    envelope::Reply,
    error::ApiError,
    identity::Caller,
    input::{self, ActorMode},
};

type Body = Result<Bytes, BytesRejection>;
type ActorPath = Result<Path<String>, PathRejection>;

#[utoipa::path(
    get,
    operation_id = "actors_list",
    path = "/actors",
    tag = "actors",
    summary = "List the actors the caller may read, in the order they were made",
    params(doc::CursorPage),
    responses((status = 200, description = "The actors (a page of them with `cursor`); with other query parameters, a search (see /actors/search/{kind})", body = doc::Envelope<doc::ActorsOrSearch>, headers(("X-Next-Cursor" = String, description = "The cursor of the next page, when there is one"))))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = search::params(query.as_deref())?;
    let page = match paging::wants(&params)? {
        paging::Wants::Listing(page) => page,
        paging::Wants::Search => {
            let scope = search::Scope {
                kind: "actors",
                actor_id: String::new(),
                execution_id: String::new(),
                message: "Actors search completed successfully.",
            };
            return Ok(search::run(&gw, &caller, params, scope)
                .await?
                .into_response());
        }
    };
    let listed = gw
        .registration()
        .list_actors(caller.request(pb::ListActorsRequest { page })?)
        .await?
        .into_inner();
    let view = view(&gw, &caller);
    let result = listed.actors.iter().map(|a| view.actor(a)).collect();
    Ok(paging::with_next(
        Reply::ok("Actors retrieved successfully.", Value::Array(result)),
        &listed.next_cursor,
    ))
}

#[utoipa::path(
    post,
    operation_id = "actors_create",
    path = "/actors",
    tag = "actors",
    summary = "Register an actor",
    request_body = doc::NewActorBody,
    responses((
        status = 200, description = "The actor, SUBMITTED until its image is pulled and its first worker ready", body = doc::Envelope<doc::Actor>,
        links(
            ("ActorsGet" = (operation_id = "actors_get", parameters(("actor_id" = "$response.body#/result/id")))),
            ("ActorsPatch" = (operation_id = "actors_patch", parameters(("actor_id" = "$response.body#/result/id")))),
            ("ActorsDelete" = (operation_id = "actors_delete", parameters(("actor_id" = "$response.body#/result/id")))),
            ("MessagesSend" = (operation_id = "messages_send", parameters(("actor_id" = "$response.body#/result/id")))),
            ("ExecutionsList" = (operation_id = "executions_list", parameters(("actor_id" = "$response.body#/result/id")))),
            ("WorkersList" = (operation_id = "workers_list", parameters(("actor_id" = "$response.body#/result/id")))),
            ("NoncesCreateActor" = (operation_id = "nonces_create_actor", parameters(("actor_id" = "$response.body#/result/id")))),
            ("PermissionsSetActor" = (operation_id = "permissions_set_actor", parameters(("actor_id" = "$response.body#/result/id"))))
        )
    ))
)]
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

#[utoipa::path(
    get,
    operation_id = "actors_get",
    path = "/actors/{actor_id}",
    tag = "actors",
    summary = "Get an actor",
    params(doc::ActorPath),
    responses((status = 200, description = "The actor", body = doc::Envelope<doc::Actor>))
)]
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
#[utoipa::path(
    put,
    operation_id = "actors_replace",
    path = "/actors/{actor_id}",
    tag = "actors",
    summary = "Replace an actor (fields left out take their defaults)",
    params(doc::ActorPath),
    request_body = doc::NewActorBody,
    responses((status = 200, description = "The actor as it now is", body = doc::Envelope<doc::Actor>))
)]
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
#[utoipa::path(
    patch,
    operation_id = "actors_patch",
    path = "/actors/{actor_id}",
    tag = "actors",
    summary = "Change some fields of an actor",
    params(doc::ActorPath),
    request_body = doc::ActorBody,
    responses((status = 200, description = "The actor as it now is", body = doc::Envelope<doc::Actor>))
)]
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

#[utoipa::path(
    delete,
    operation_id = "actors_delete",
    path = "/actors/{actor_id}",
    tag = "actors",
    summary = "Delete an actor, its workers, executions and mailbox",
    params(doc::ActorPath),
    responses((status = 200, description = "Deleted", body = doc::Envelope<doc::Null>))
)]
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

#[utoipa::path(
    get,
    operation_id = "actors_get_state",
    path = "/actors/{actor_id}/state",
    tag = "actors",
    summary = "Get a stateful actor's state",
    params(doc::ActorPath),
    responses((status = 200, description = "The state", body = doc::Envelope<doc::State>))
)]
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

#[utoipa::path(
    post,
    operation_id = "actors_set_state",
    path = "/actors/{actor_id}/state",
    tag = "actors",
    summary = "Set a stateful actor's state (any JSON)",
    params(doc::ActorPath),
    request_body = serde_json::Value,
    responses((status = 200, description = "The state as stored", body = doc::Envelope<doc::State>))
)]
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
