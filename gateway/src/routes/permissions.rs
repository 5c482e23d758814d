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
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input, openapi as doc};

type NamePath = Result<Path<String>, PathRejection>;

async fn get<const KIND: u8>(
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

async fn set<const KIND: u8>(
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

/// The documented routes of one kind of target, each a call of the generic handlers above
/// (the description needs one function per path).
macro_rules! permission_routes {
    ($kind:expr, $path:literal, $params:ty, $get:ident, $get_id:literal, $get_summary:literal,
     $set:ident, $set_id:literal, $set_summary:literal) => {
        #[utoipa::path(
            get,
            operation_id = $get_id,
            path = $path,
            tag = "permissions",
            summary = $get_summary,
            params($params),
            responses((status = 200, description = "Users and their levels", body = doc::Envelope<doc::Permissions>))
        )]
        pub(super) async fn $get(
            gw: State<Gateway>,
            caller: Caller,
            path: NamePath,
        ) -> Result<Reply, ApiError> {
            get::<{ $kind }>(gw, caller, path).await
        }

        #[utoipa::path(
            post,
            operation_id = $set_id,
            path = $path,
            tag = "permissions",
            summary = $set_summary,
            params($params),
            request_body = doc::PermissionBody,
            responses((status = 200, description = "Users and their levels, as they now are", body = doc::Envelope<doc::Permissions>))
        )]
        pub(super) async fn $set(
            gw: State<Gateway>,
            caller: Caller,
            path: NamePath,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Reply, ApiError> {
            set::<{ $kind }>(gw, caller, path, headers, body).await
        }
    };
}

permission_routes!(
    sharing::ACTOR,
    "/actors/{actor_id}/permissions",
    doc::ActorPath,
    get_actor,
    "permissions_get_actor",
    "Who may do what with this actor",
    set_actor,
    "permissions_set_actor",
    "Give a user a level on this actor (NONE removes it)"
);

permission_routes!(
    sharing::ALIAS,
    "/actors/aliases/{alias}/permissions",
    doc::AliasPath,
    get_alias,
    "permissions_get_alias",
    "Who may do what with this alias",
    set_alias,
    "permissions_set_alias",
    "Give a user a level on this alias (NONE removes it)"
);

permission_routes!(
    sharing::CONFIG,
    "/actors/configs/{name}/permissions",
    doc::ConfigPath,
    get_config,
    "permissions_get_config",
    "Who may do what with this config",
    set_config,
    "permissions_set_config",
    "Give a user a level on this config (NONE removes it)"
);
