//! `/actors/aliases` and `/actors/aliases/{alias}`: Access calls.

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
    operation_id = "aliases_list",
    path = "/actors/aliases",
    tag = "aliases",
    summary = "List the aliases the caller may read, by name",
    params(doc::Page),
    responses((status = 200, description = "The aliases", body = doc::Envelope<Vec<doc::Alias>>, headers(("X-Next-Cursor" = String, description = "The cursor of the next page, when there is one"))))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = paging::page_of(&search::params(query.as_deref())?)?;
    let listed = gw
        .access()
        .list_aliases(caller.request(pb::ListAliasesRequest { page: Some(page) })?)
        .await?
        .into_inner();
    Ok(paging::with_next(
        Reply::ok(
            "Aliases retrieved successfully.",
            view(&gw, &caller).aliases(&listed.aliases),
        ),
        &listed.next_cursor,
    ))
}

#[utoipa::path(
    post,
    operation_id = "aliases_create",
    path = "/actors/aliases",
    tag = "aliases",
    summary = "Create an alias",
    request_body = doc::AliasBody,
    responses((
        status = 200, description = "The alias", body = doc::Envelope<doc::Alias>,
        links(
            ("AliasesGet" = (operation_id = "aliases_get", parameters(("alias" = "$response.body#/result/alias")))),
            ("AliasesUpdate" = (operation_id = "aliases_update", parameters(("alias" = "$response.body#/result/alias")))),
            ("AliasesDelete" = (operation_id = "aliases_delete", parameters(("alias" = "$response.body#/result/alias")))),
            ("NoncesCreateAlias" = (operation_id = "nonces_create_alias", parameters(("alias" = "$response.body#/result/alias"))))
        )
    ))
)]
pub(super) async fn create(
    State(gw): State<Gateway>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let input = input::alias(&body?, input::is_form(&headers))?;
    let alias = input
        .alias
        .ok_or_else(|| ApiError::bad_request("field \"alias\" is required"))?;
    let created = gw
        .access()
        .create_alias(caller.request(pb::PutAliasRequest {
            alias,
            actor_id: input.actor_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor alias created successfully.",
        view(&gw, &caller).alias(&created),
    ))
}

#[utoipa::path(
    get,
    operation_id = "aliases_get",
    path = "/actors/aliases/{alias}",
    tag = "aliases",
    summary = "Get an alias",
    params(doc::AliasPath),
    responses((status = 200, description = "The alias", body = doc::Envelope<doc::Alias>))
)]
pub(super) async fn get(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(alias) = path?;
    let alias = gw
        .access()
        .get_alias(caller.request(pb::AliasRef { alias })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Alias retrieved successfully.",
        view(&gw, &caller).alias(&alias),
    ))
}

#[utoipa::path(
    put,
    operation_id = "aliases_update",
    path = "/actors/aliases/{alias}",
    tag = "aliases",
    summary = "Point an alias at another actor",
    params(doc::AliasPath),
    request_body = doc::AliasBody,
    responses((status = 200, description = "The alias", body = doc::Envelope<doc::Alias>))
)]
pub(super) async fn update(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let Path(alias) = path?;
    let input = input::alias(&body?, input::is_form(&headers))?;
    if input.alias.as_ref().is_some_and(|named| *named != alias) {
        return Err(ApiError::bad_request(
            "the alias itself cannot be changed by a PUT; delete it and create the new one",
        ));
    }
    let updated = gw
        .access()
        .update_alias(caller.request(pb::PutAliasRequest {
            alias,
            actor_id: input.actor_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Actor alias updated successfully.",
        view(&gw, &caller).alias(&updated),
    ))
}

#[utoipa::path(
    delete,
    operation_id = "aliases_delete",
    path = "/actors/aliases/{alias}",
    tag = "aliases",
    summary = "Delete an alias",
    params(doc::AliasPath),
    responses((status = 200, description = "Deleted", body = doc::Envelope<doc::Null>))
)]
pub(super) async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(alias) = path?;
    let deleted = gw
        .access()
        .delete_alias(caller.request(pb::AliasRef { alias })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("Alias {} deleted successfully.", deleted.alias),
        Value::Null,
    ))
}
