//! `/actors/{id}/permissions`, `/actors/aliases/{alias}/permissions` and
//! `/actors/configs/{name}/permissions`: Access calls. Each handler serves all three; `KIND`
//! says what the path names (see [`sharing`]).

use abaco::pb;
use axum::extract::{
    Path, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;
use http::HeaderMap;

use super::{sharing, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type NamePath = Result<Path<String>, PathRejection>;

pub(super) async fn get<const KIND: u8>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let permissions = gw
        .access()
        .get_permissions(caller.request(sharing::target(KIND, name))?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Permissions retrieved successfully.",
        view(&gw, &caller).permissions(&permissions),
    ))
}

pub(super) async fn set<const KIND: u8>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let input = input::permission(&body?, input::is_form(&headers))?;
    let permissions = gw
        .access()
        .set_permission(caller.request(pb::SetPermissionRequest {
            target: Some(sharing::target(KIND, name)),
            user: input.user,
            level: input.level.into(),
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Permission added successfully.",
        view(&gw, &caller).permissions(&permissions),
    ))
}
