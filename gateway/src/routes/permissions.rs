//! `/actors/{id}/permissions` and `/actors/aliases/{alias}/permissions`: Access calls.

use abaco::pb;
use axum::extract::{
    Path, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;
use http::HeaderMap;

use super::{sharing, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type Body = Result<Bytes, BytesRejection>;
type NamePath = Result<Path<String>, PathRejection>;

pub(super) async fn of_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(identifier) = path?;
    get(&gw, &caller, sharing::actor(identifier)).await
}

pub(super) async fn of_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    get(&gw, &caller, sharing::alias(name)).await
}

pub(super) async fn set_on_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let Path(identifier) = path?;
    set(&gw, &caller, sharing::actor(identifier), &headers, &body?).await
}

pub(super) async fn set_on_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    set(&gw, &caller, sharing::alias(name), &headers, &body?).await
}

async fn get(gw: &Gateway, caller: &Caller, target: pb::AccessTarget) -> Result<Reply, ApiError> {
    let permissions = gw
        .access()
        .get_permissions(caller.request(target)?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Permissions retrieved successfully.",
        view(gw, caller).permissions(&permissions),
    ))
}

async fn set(
    gw: &Gateway,
    caller: &Caller,
    target: pb::AccessTarget,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input = input::permission(body, sharing::is_form(headers))?;
    let permissions = gw
        .access()
        .set_permission(caller.request(pb::SetPermissionRequest {
            target: Some(target),
            user: input.user,
            level: input.level.into(),
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Permission added successfully.",
        view(gw, caller).permissions(&permissions),
    ))
}
