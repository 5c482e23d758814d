//! The envelope `{"status", "message", "result", "version"}` around every answer.
//!
//! Handlers (and the refusals of the layers) do not write the envelope themselves: they leave
//! an [`Outcome`] in the response's extensions and [`render`], one layer near the top, writes
//! the body. That keeps the version in one place and lets `?` on any error build an answer
//! without access to the settings.

use std::sync::Arc;

use axum::{
    BoxError,
    body::{Body, Bytes, HttpBody},
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// What an answer says, before the envelope is put around it.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    ok: bool,
    message: String,
    result: Value,
}

impl Outcome {
    /// A success with its message and result.
    pub(crate) fn success(message: impl Into<String>, result: Value) -> Self {
        Self {
            ok: true,
            message: message.into(),
            result,
        }
    }

    /// A failure; its result is always null.
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            message: message.into(),
            result: Value::Null,
        }
    }

    /// An empty response carrying this outcome for [`render`] to fill in.
    pub(crate) fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// A successful answer of a handler: 200 and an envelope.
#[derive(Debug)]
pub(crate) struct Reply(pub(crate) Outcome);

impl Reply {
    pub(crate) fn ok(message: impl Into<String>, result: Value) -> Self {
        Self(Outcome::success(message, result))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        self.0.into_response_with(StatusCode::OK)
    }
}

/// Writes the envelope of a response that carries an [`Outcome`]. An error response without
/// one (a refusal by a layer we do not control) is wrapped too, so no caller ever sees a bare
/// error; other responses (raw execution results) pass untouched.
pub(crate) async fn render<B>(State(version): State<Arc<str>>, response: Response<B>) -> Response
where
    // Generic because the panic-catching layer below answers with its own body type.
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = response.into_parts();
    let outcome = match parts.extensions.remove::<Outcome>() {
        Some(outcome) => outcome,
        None if parts.status.is_client_error() || parts.status.is_server_error() => Outcome::error(
            parts
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase(),
        ),
        None => return Response::from_parts(parts, Body::new(body)),
    };
    let envelope = json!({
        "status": if outcome.ok { "success" } else { "error" },
        "message": outcome.message,
        "result": outcome.result,
        "version": &*version,
    });
    // The old body is empty or discarded; its length no longer applies.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(envelope.to_string()))
}
