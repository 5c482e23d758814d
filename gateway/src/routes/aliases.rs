//! `/actors/aliases` and `/actors/aliases/{alias}`: Access calls.

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
    let aliases = gw
        .access()
        .list_aliases(caller.request(pb::ListAliasesRequest {})?)
        .await?
        .into_inner()
        .aliases;
    Ok(Reply::ok(
        "Aliases retrieved successfully.",
        view(&gw, &caller).aliases(&aliases),
    ))
}

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
