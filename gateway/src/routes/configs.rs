//! `/actors/configs` and `/actors/configs/{name}`: Configs calls.

use crate::openapi as doc;
use abaco::pb;
use axum::{
    extract::{
        Path, RawQuery, State,
        rejection::{BytesRejection, PathRejection},
    },
    response::Response,
};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::{paging, search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type Body = Result<Bytes, BytesRejection>;
type NamePath = Result<Path<String>, PathRejection>;

#[utoipa::path(
    get,
    operation_id = "configs_list",
    path = "/actors/configs",
    tag = "configs",
    summary = "List the configs the caller may read, by name",
    params(doc::Page),
    responses((status = 200, description = "The configs", body = doc::Envelope<Vec<doc::Config>>, headers(("X-Next-Cursor" = String, description = "The cursor of the next page, when there is one"))))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = paging::page_of(&search::params(query.as_deref())?)?;
    let listed = gw
        .configs()
        .list_configs(caller.request(pb::ListConfigsRequest { page: Some(page) })?)
        .await?
        .into_inner();
    Ok(paging::with_next(
        Reply::ok(
            "Actor Configs retrieved successfully.",
            view(&gw, &caller).configs(&listed.configs),
        ),
        &listed.next_cursor,
    ))
}

#[utoipa::path(
    post,
    operation_id = "configs_create",
    path = "/actors/configs",
    tag = "configs",
    summary = "Create a config",
    request_body = doc::ConfigBody,
    responses((
        status = 200, description = "The config", body = doc::Envelope<doc::Config>,
        links(
            ("ConfigsGet" = (operation_id = "configs_get", parameters(("name" = "$response.body#/result/name")))),
            ("ConfigsUpdate" = (operation_id = "configs_update", parameters(("name" = "$response.body#/result/name")))),
            ("ConfigsDelete" = (operation_id = "configs_delete", parameters(("name" = "$response.body#/result/name"))))
        )
    ))
)]
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

#[utoipa::path(
    get,
    operation_id = "configs_get",
    path = "/actors/configs/{name}",
    tag = "configs",
    summary = "Get a config",
    params(doc::ConfigPath),
    responses((status = 200, description = "The config", body = doc::Envelope<doc::Config>))
)]
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

#[utoipa::path(
    put,
    operation_id = "configs_update",
    path = "/actors/configs/{name}",
    tag = "configs",
    summary = "Replace a config",
    params(doc::ConfigPath),
    request_body = doc::ConfigBody,
    responses((status = 200, description = "The config", body = doc::Envelope<doc::Config>))
)]
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

#[utoipa::path(
    delete,
    operation_id = "configs_delete",
    path = "/actors/configs/{name}",
    tag = "configs",
    summary = "Delete a config",
    params(doc::ConfigPath),
    responses((status = 200, description = "Deleted", body = doc::Envelope<doc::Null>))
)]
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
