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
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type NamePath = Result<Path<String>, PathRejection>;
type NoncePath = Result<Path<(String, String)>, PathRejection>;

/// How abaco's messages name the owner of the nonces.
fn noun(alias: bool) -> &'static str {
    if alias { "Alias" } else { "Actor" }
}

pub(super) async fn list<const ALIAS: bool>(
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

pub(super) async fn create<const ALIAS: bool>(
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

pub(super) async fn get<const ALIAS: bool>(
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

pub(super) async fn delete<const ALIAS: bool>(
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
