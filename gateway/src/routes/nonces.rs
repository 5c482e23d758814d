//! `/actors/{id}/nonces...` and `/actors/aliases/{alias}/nonces...`: Access calls.

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

type Body = Result<Bytes, BytesRejection>;
type NamePath = Result<Path<String>, PathRejection>;
type NoncePath = Result<Path<(String, String)>, PathRejection>;

/// Whose nonces a route is about, as its messages name it.
#[derive(Debug, Clone, Copy)]
enum Of {
    Actor,
    Alias,
}

impl Of {
    fn target(self, name: String) -> pb::AccessTarget {
        match self {
            Self::Actor => sharing::actor(name),
            Self::Alias => sharing::alias(name),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Actor => "Actor",
            Self::Alias => "Alias",
        }
    }
}

pub(super) async fn list_of_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    list(&gw, &caller, Of::Actor, path?.0).await
}

pub(super) async fn list_of_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
) -> Result<Reply, ApiError> {
    list(&gw, &caller, Of::Alias, path?.0).await
}

pub(super) async fn create_on_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    create(&gw, &caller, Of::Actor, path?.0, &headers, &body?).await
}

pub(super) async fn create_on_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NamePath,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply, ApiError> {
    create(&gw, &caller, Of::Alias, path?.0, &headers, &body?).await
}

pub(super) async fn get_of_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    get(&gw, &caller, Of::Actor, path?.0).await
}

pub(super) async fn get_of_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    get(&gw, &caller, Of::Alias, path?.0).await
}

pub(super) async fn delete_of_actor(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    delete(&gw, &caller, Of::Actor, path?.0).await
}

pub(super) async fn delete_of_alias(
    State(gw): State<Gateway>,
    caller: Caller,
    path: NoncePath,
) -> Result<Reply, ApiError> {
    delete(&gw, &caller, Of::Alias, path?.0).await
}

async fn list(gw: &Gateway, caller: &Caller, of: Of, name: String) -> Result<Reply, ApiError> {
    let nonces = gw
        .access()
        .list_nonces(caller.request(of.target(name))?)
        .await?
        .into_inner()
        .nonces;
    Ok(Reply::ok(
        format!("{} nonces retrieved successfully.", of.noun()),
        view(gw, caller).nonces(&nonces),
    ))
}

async fn create(
    gw: &Gateway,
    caller: &Caller,
    of: Of,
    name: String,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input = input::nonce(body, sharing::is_form(headers))?;
    let nonce = gw
        .access()
        .create_nonce(caller.request(pb::CreateNonceRequest {
            target: Some(of.target(name)),
            level: input.level.map(Into::into),
            max_uses: input.max_uses,
            description: input.description,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("{} nonce created successfully.", of.noun()),
        view(gw, caller).nonce(&nonce),
    ))
}

async fn get(
    gw: &Gateway,
    caller: &Caller,
    of: Of,
    (name, nonce_id): (String, String),
) -> Result<Reply, ApiError> {
    let nonce = gw
        .access()
        .get_nonce(caller.request(pb::NonceRef {
            target: Some(of.target(name)),
            nonce_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        format!("{} nonce retrieved successfully.", of.noun()),
        view(gw, caller).nonce(&nonce),
    ))
}

async fn delete(
    gw: &Gateway,
    caller: &Caller,
    of: Of,
    (name, nonce_id): (String, String),
) -> Result<Reply, ApiError> {
    gw.access()
        .delete_nonce(caller.request(pb::NonceRef {
            target: Some(of.target(name)),
            nonce_id,
        })?)
        .await?;
    Ok(Reply::ok(
        format!("{} nonce deleted successfully.", of.noun()),
        Value::Null,
    ))
}
