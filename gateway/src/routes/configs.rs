//! `/actors/configs` and `/actors/configs/{name}`: Configs calls.

use abaco::pb;
use axum::extract::{
    Path, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type Body = Result<Bytes, BytesRejection>;
type NamePath = Result<Path<String>, PathRejection>;

pub(super) async fn list(State(gw): State<Gateway>, caller: Caller) -> Result<Reply, ApiError> {
    let configs = gw
        .configs()
        .list_configs(caller.request(pb::ListConfigsRequest {})?)
        .await?
        .into_inner()
        .configs;
    Ok(Reply::ok(
        "Actor Configs retrieved successfully.",
        view(&gw, &caller).configs(&configs),
    ))
}

pub(super) async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let input = input::config(&body?, input::is_form(&headers))?;
    let name = input
        .name
        .ok_or_else(|| ApiError::bad_request("field \"name\" is required"))?;
    let created = gw
        .configs()
        .create_config(caller.request(pb::PutConfigRequest {
            name,
            value: input.value,
            is_secret: input.is_secret,
            actors: input.actors,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor config created successfully.",
        view(&gw, &caller).config(&created),
    ))
}

pub(super) async fn get(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let config = gw
        .configs()
        .get_config(caller.request(pb::ConfigRef { name })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Config retrieved successfully.",
        view(&gw, &caller).config(&config),
    ))
}

pub(super) async fn update(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let input = input::config(&body?, input::is_form(&headers))?;
    if input.name.as_ref().is_some_and(|named| *named != name) {
        return Err(ApiError::bad_request(
            "a config cannot be renamed by a PUT; delete it and create the new one",
        ));
    }
    let updated = gw
        .configs()
        .update_config(caller.request(pb::PutConfigRequest {
            name,
            value: input.value,
            is_secret: input.is_secret,
            actors: input.actors,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor config updated successfully.",
        view(&gw, &caller).config(&updated),
    ))
}

pub(super) async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let deleted = gw
        .configs()
        .delete_config(caller.request(pb::ConfigRef { name })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("Actor config {} deleted successfully.", deleted.name),
        Value::Null,
    ))
}
