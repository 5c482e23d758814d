//! `/actors/{id}/messages`: Messages calls.

use std::collections::HashMap;

use abaco::pb;
use axum::{
    Form,
    extract::{FromRequest, Path, Query, Request, State, rejection::PathRejection},
};
use bytes::Bytes;
use http::header;

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, input};

type ActorPath = Result<Path<String>, PathRejection>;

/// Query parameters that steer the request and must not reach the run's environment.
const RESERVED_PARAMETERS: &[&str] = &["x-nonce", "_abaco_synchronous"];

pub(super) async fn count(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let count = gw
        .messages()
        .count_messages(caller.request(pb::ActorRef { actor_id })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Number of messages retrieved successfully.",
        view(&gw, &caller).message_count(&count),
    ))
}

pub(super) async fn purge(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let count = gw
        .messages()
        .purge_messages(caller.request(pb::ActorRef { actor_id })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Messages purged successfully.",
        view(&gw, &caller).message_count(&count),
    ))
}

pub(super) async fn send(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    request: Request,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    let environment = environment(&request)?;
    let (body, content_type) = message(request, &gw).await?;
    let sent = gw
        .messages()
        .send_message(caller.request(pb::SendMessageRequest {
            actor_id,
            body: body.into(),
            content_type: content_type.to_owned(),
            environment,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "The request was successful",
        view(&gw, &caller).sent(&sent),
    ))
}

/// The query parameters as the run's environment, without the reserved ones.
fn environment(request: &Request) -> Result<HashMap<String, String>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())?;
    let mut environment = HashMap::new();
    for (name, value) in pairs {
        if RESERVED_PARAMETERS.contains(&name.as_str()) {
            continue;
        }
        if !is_env_name(&name) {
            return Err(ApiError::bad_request(format!(
                "query parameter \"{name}\" is not a valid environment variable name"
            )));
        }
        if environment.insert(name.clone(), value).is_some() {
            return Err(ApiError::bad_request(format!(
                "query parameter \"{name}\" given twice"
            )));
        }
    }
    Ok(environment)
}

/// `[A-Za-z_][A-Za-z0-9_]*`, what a shell and Docker accept as a variable name.
fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The message and the content type the container is told, by the request's Content-Type.
async fn message(request: Request, gw: &Gateway) -> Result<(Bytes, &'static str), ApiError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let empty = || ApiError::bad_request("message must not be empty");
    if media_type == "application/x-www-form-urlencoded" {
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, gw).await?;
        let message = fields
            .into_iter()
            .find_map(|(name, value)| (name == "message").then_some(value))
            .ok_or_else(|| ApiError::bad_request("form field \"message\" is required"))?;
        if message.is_empty() {
            return Err(empty());
        }
        return Ok((Bytes::from(message), "str"));
    }
    let body = Bytes::from_request(request, gw).await?;
    if body.is_empty() {
        return Err(empty());
    }
    match media_type.as_str() {
        "application/json" => {
            // The container gets the JSON text as sent; it only has to be JSON.
            input::parse_json(&body)?;
            Ok((body, "application/json"))
        }
        "application/octet-stream" => Ok((body, "application/octet-stream")),
        _ => {
            if std::str::from_utf8(&body).is_err() {
                return Err(ApiError::bad_request(
                    "message must be UTF-8 text (send binary data as application/octet-stream)",
                ));
            }
            Ok((body, "str"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn environment_names() {
        assert!(is_env_name("_a1") && is_env_name("FOO_BAR") && is_env_name("x"));
        assert!(!is_env_name("") && !is_env_name("1a") && !is_env_name("a-b"));
    }

    #[test]
    fn reserved_parameters_are_dropped_and_bad_names_refused() {
        let request = Request::builder()
            .uri("/actors/a/messages?x-nonce=n&_abaco_synchronous=true&FOO=1")
            .body(axum::body::Body::empty())
            .unwrap();
        let environment = environment(&request).unwrap();
        assert_eq!(environment.len(), 1);
        assert_eq!(environment.get("FOO").map(String::as_str), Some("1"));

        let request = Request::builder()
            .uri("/actors/a/messages?bad-name=1")
            .body(axum::body::Body::empty())
            .unwrap();
        let error = environment_error(&request);
        assert!(error.contains("\"bad-name\""), "{error}");
    }

    fn environment_error(request: &Request) -> String {
        match environment(request) {
            Ok(env) => panic!("accepted {env:?}"),
            Err(error) => error.message,
        }
    }
}
