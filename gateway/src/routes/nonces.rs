//! `/actors/{id}/nonces...` and `/actors/aliases/{alias}/nonces...`: Access calls. Each
//! handler serves both families; `ALIAS` says whether the path names an alias itself.

use abaco::pb;
use axum::extract::{
    Path, State,
    rejection::{BytesRejection, PathRejection},
};
use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::{sharing, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input, openapi as doc};

type NamePath = Result<Path<String>, PathRejection>;
type NoncePath = Result<Path<(String, String)>, PathRejection>;

/// How abaco's messages name the owner of the nonces.
fn noun(alias: bool) -> &'static str {
    if alias { "Alias" } else { "Actor" }
}

async fn list<const ALIAS: bool>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let nonces = gw
        .access()
        .list_nonces(caller.request(sharing::nonce_target(ALIAS, name))?)
        .await?
        .into_inner()
        .nonces;
    Ok(Reply::ok(
        format!("{} nonces retrieved successfully.", noun(ALIAS)),
        view(&gw, &caller).nonces(&nonces),
    ))
}

async fn create<const ALIAS: bool>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Reply, ApiError> {
    let Path(name) = path?;
    let input = input::nonce(&body?, input::is_form(&headers))?;
    let nonce = gw
        .access()
        .create_nonce(caller.request(pb::CreateNonceRequest {
            target: Some(sharing::nonce_target(ALIAS, name)),
            level: input.level.map(Into::into),
            max_uses: input.max_uses,
            description: input.description,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("{} nonce created successfully.", noun(ALIAS)),
        view(&gw, &caller).nonce(&nonce),
    ))
}

async fn get<const ALIAS: bool>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    let Path((name, nonce_id)) = path?;
    let nonce = gw
        .access()
        .get_nonce(caller.request(pb::NonceRef {
            target: Some(sharing::nonce_target(ALIAS, name)),
            nonce_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("{} nonce retrieved successfully.", noun(ALIAS)),
        view(&gw, &caller).nonce(&nonce),
    ))
}

async fn delete<const ALIAS: bool>(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    let Path((name, nonce_id)) = path?;
    gw.access()
        .delete_nonce(caller.request(pb::NonceRef {
            target: Some(sharing::nonce_target(ALIAS, name)),
            nonce_id,
        })?)
        .await?;
    Ok(Reply::ok(
        format!("{} nonce deleted successfully.", noun(ALIAS)),
        Value::Null,
    ))
}

/// The documented routes of one family (an actor's nonces, or an alias's), each a call of the
/// generic handlers above (the description needs one function per path).
macro_rules! nonce_routes {
    ($alias:literal, $path:literal, $nonce_path:literal, $params:ty, $nonce_params:ty,
     ($owner:literal = $owner_value:literal),
     [$list:ident, $list_id:literal, $list_summary:literal],
     [$create:ident, $create_id:literal, $create_summary:literal],
     [$get:ident, $get_id:literal],
     [$delete:ident, $delete_id:literal]) => {
        #[utoipa::path(
            get,
            operation_id = $list_id,
            path = $path,
            tag = "nonces",
            summary = $list_summary,
            params($params),
            responses((status = 200, description = "The nonces", body = doc::Envelope<Vec<doc::Nonce>>))
        )]
        pub(super) async fn $list(
            gw: State<Gateway>,
            caller: Caller,
            path: NamePath,
        ) -> Result<Reply, ApiError> {
            list::<$alias>(gw, caller, path).await
        }

        #[utoipa::path(
            post,
            operation_id = $create_id,
            path = $path,
            tag = "nonces",
            summary = $create_summary,
            params($params),
            request_body = doc::NonceBody,
            responses((
                status = 200,
                description = "The nonce; its id is the token",
                body = doc::Envelope<doc::Nonce>,
                links(
                    ("Get" = (operation_id = $get_id, parameters(($owner = $owner_value), ("nonce_id" = "$response.body#/result/id")))),
                    ("Delete" = (operation_id = $delete_id, parameters(($owner = $owner_value), ("nonce_id" = "$response.body#/result/id"))))
                )
            ))
        )]
        pub(super) async fn $create(
            gw: State<Gateway>,
            caller: Caller,
            path: NamePath,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Reply, ApiError> {
            create::<$alias>(gw, caller, path, headers, body).await
        }

        #[utoipa::path(
            get,
            operation_id = $get_id,
            path = $nonce_path,
            tag = "nonces",
            summary = "Get a nonce",
            params($nonce_params),
            responses((status = 200, description = "The nonce", body = doc::Envelope<doc::Nonce>))
        )]
        pub(super) async fn $get(
            gw: State<Gateway>,
            caller: Caller,
            path: NoncePath,
        ) -> Result<Reply, ApiError> {
            get::<$alias>(gw, caller, path).await
        }

        #[utoipa::path(
            delete,
            operation_id = $delete_id,
            path = $nonce_path,
            tag = "nonces",
            summary = "Delete a nonce",
            params($nonce_params),
            responses((status = 200, description = "Deleted", body = doc::Envelope<doc::Null>))
        )]
        pub(super) async fn $delete(
            gw: State<Gateway>,
            caller: Caller,
            path: NoncePath,
        ) -> Result<Reply, ApiError> {
            delete::<$alias>(gw, caller, path).await
        }
    };
}

nonce_routes!(
    false,
    "/actors/{actor_id}/nonces",
    "/actors/{actor_id}/nonces/{nonce_id}",
    doc::ActorPath,
    doc::ActorNoncePath,
    ("actor_id" = "$request.path.actor_id"),
    [list_actor, "nonces_list_actor", "List this actor's nonces"],
    [
        create_actor,
        "nonces_create_actor",
        "Create a nonce for this actor"
    ],
    [get_actor, "nonces_get_actor"],
    [delete_actor, "nonces_delete_actor"]
);

nonce_routes!(
    true,
    "/actors/aliases/{alias}/nonces",
    "/actors/aliases/{alias}/nonces/{nonce_id}",
    doc::AliasPath,
    doc::AliasNoncePath,
    ("alias" = "$request.path.alias"),
    [list_alias, "nonces_list_alias", "List this alias's nonces"],
    [
        create_alias,
        "nonces_create_alias",
        "Create a nonce for this alias"
    ],
    [get_alias, "nonces_get_alias"],
    [delete_alias, "nonces_delete_alias"]
);
