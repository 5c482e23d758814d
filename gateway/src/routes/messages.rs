//! `/actors/{id}/messages`: Messages calls.

use crate::openapi as doc;
use std::collections::HashMap;

use abaco::{
    identity::{Caller as Identity, Role},
    pb,
};
use std::time::Duration;

use axum::{
    Form,
    extract::{FromRequest, Path, Query, Request, State, rejection::PathRejection},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{StatusCode, header};

use super::view;
use crate::{
    Gateway,
    envelope::{Outcome, Reply},
    error::ApiError,
    identity::Caller,
    input,
};

type ActorPath = Result<Path<String>, PathRejection>;

/// Query parameters that steer the request and must not reach the run's environment.
const RESERVED_PARAMETERS: &[&str] = &["x-nonce", "_abaco_synchronous"];

#[utoipa::path(
    get,
    operation_id = "messages_count",
    path = "/actors/{actor_id}/messages",
    tag = "messages",
    summary = "Messages waiting in an actor's mailbox",
    params(doc::ActorPath),
    responses((status = 200, description = "The count", body = doc::Envelope<doc::MessageCount>))
)]
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

#[utoipa::path(
    delete,
    operation_id = "messages_purge",
    path = "/actors/{actor_id}/messages",
    tag = "messages",
    summary = "Drop the messages waiting in an actor's mailbox",
    params(doc::ActorPath),
    responses((status = 200, description = "How many were dropped", body = doc::Envelope<doc::MessageCount>))
)]
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

#[utoipa::path(
    post,
    operation_id = "messages_send",
    path = "/actors/{actor_id}/messages",
    tag = "messages",
    summary = "Send a message: JSON, text (a `message` field or form), or bytes; other query parameters reach the run's environment",
    params(doc::ActorPath, doc::SendQuery, doc::SendHeaders),
    request_body(content((serde_json::Value = "application/json"), (String = "text/plain"), (doc::Binary = "application/octet-stream"))),
    responses(
        (status = 202, description = "Synchronous, but the run did not finish within `sync_wait_secs`: it goes on; the message names the execution", body = doc::Envelope<doc::Sent>),
        (
            status = 200,
            description = "Accepted: the execution that runs it. With `_abaco_synchronous=true`, what the run wrote to its results socket, or its logs as text",
            content((doc::Envelope<doc::Sent> = "application/json"), (doc::Binary = "application/octet-stream"), (String = "text/plain")),
            links(
            ("ExecutionsGet" = (operation_id = "executions_get", parameters(("actor_id" = "$request.path.actor_id"), ("execution_id" = "$response.body#/result/executionId")))),
            ("ExecutionsLogs" = (operation_id = "executions_logs", parameters(("actor_id" = "$request.path.actor_id"), ("execution_id" = "$response.body#/result/executionId")))),
            ("ExecutionsResults" = (operation_id = "executions_results", parameters(("actor_id" = "$request.path.actor_id"), ("execution_id" = "$response.body#/result/executionId")))),
            ("ExecutionsForceQuit" = (operation_id = "executions_force_quit", parameters(("actor_id" = "$request.path.actor_id"), ("execution_id" = "$response.body#/result/executionId"))))
            )
        )
    )
)]
pub(super) async fn send(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    request: Request,
) -> Result<Response, ApiError> {
    let Path(actor_id) = path?;
    let environment = environment(&request)?;
    let synchronous = is_synchronous(&request)?;
    let idempotency_key = idempotency_key(&request)?;
    let (body, content_type) = message(request, &gw).await?;
    let sent = gw
        .send_message(
            &caller,
            pb::SendMessageRequest {
                actor_id,
                body: body.into(),
                content_type: content_type.to_owned(),
                environment,
                refuse_if_deeper_than: synchronous.then_some(gw.settings().sync_max_queue),
                idempotency_key,
            },
        )
        .await?;
    let mut answer = if synchronous {
        synchronous_answer(&gw, &caller, &sent).await?
    } else {
        Reply::ok("The request was successful", view(&gw, &caller).sent(&sent)).into_response()
    };
    if sent.repeated {
        answer
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, http::HeaderValue::from_static("true"));
    }
    Ok(answer)
}

/// The header naming a send's idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header that marks the answer to a repeated send.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The `Idempotency-Key` of a send, or empty; the messages service checks its shape.
fn idempotency_key(request: &Request) -> Result<String, ApiError> {
    match request.headers().get(IDEMPOTENCY_KEY) {
        None => Ok(String::new()),
        Some(value) => value
            .to_str()
            .ok()
            .filter(|key| !key.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            }),
    }
}

/// Whether `_abaco_synchronous=true` asks to wait for the run.
fn is_synchronous(request: &Request) -> Result<bool, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())?;
    match pairs.iter().find(|(name, _)| name == "_abaco_synchronous") {
        None => Ok(false),
        Some((_, value)) => match value.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(ApiError::bad_request(
                "_abaco_synchronous must be true or false",
            )),
        },
    }
}

/// Waits (bounded, unlike the original) for the run of a synchronous message, then answers
/// what it produced: its results' bytes if it wrote any, else its logs as text.
async fn synchronous_answer(
    gw: &Gateway,
    caller: &Caller,
    sent: &pb::SendMessageResponse,
) -> Result<Response, ApiError> {
    let which = || pb::GetExecutionRequest {
        actor_id: sent.actor_id.clone(),
        execution_id: sent.execution_id.clone(),
    };
    // A message sent with a nonce used it once; waiting for its run must not use it again,
    // so the wait reads as the user the run acts as (who may read what they may execute).
    let reader = if caller.identity.via_nonce() {
        Identity::user(
            caller.identity.tenant.clone(),
            sent.executor.clone(),
            Role::Regular,
        )
    } else {
        caller.identity.clone()
    };
    let wait = Duration::from_secs(gw.settings().sync_wait_secs);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let execution = gw
            .registration()
            .get_execution(caller.request_as(&reader, which()))
            .await?
            .into_inner();
        if abaco::status::execution_is_final(execution.status()) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            // Accepted, not a failure: the run goes on. A 5xx would invite a retry, and a
            // retried POST is a second execution.
            return Ok(Outcome::success(
                format!(
                    "execution {} did not finish within {} s; it goes on, see /actors/{}/executions/{}",
                    sent.execution_id,
                    wait.as_secs(),
                    sent.actor_id,
                    sent.execution_id
                ),
                view(gw, caller).sent(sent),
            )
            .into_response_with(StatusCode::ACCEPTED));
        }
        tokio::time::sleep(Duration::from_millis(gw.settings().sync_poll_ms.max(1))).await;
    }
    let results = gw
        .messages()
        .get_results(caller.request_as(&reader, which()))
        .await?
        .into_inner()
        .results;
    if !results.is_empty() {
        return Ok((
            [(header::CONTENT_TYPE, "application/octet-stream")],
            results,
        )
            .into_response());
    }
    let logs = gw
        .registration()
        .get_execution_logs(caller.request_as(&reader, which()))
        .await?
        .into_inner()
        .logs;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], logs).into_response())
}

/// The query parameters as the run's environment, without the reserved ones.
fn environment(request: &Request) -> Result<HashMap<String, String>, ApiError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri())?;
    let mut environment = HashMap::new();
    for (name, value) in pairs {
        if RESERVED_PARAMETERS.contains(&name.as_str()) {
            continue;
        }
        if !abaco::names::is_env_name(&name) {
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
