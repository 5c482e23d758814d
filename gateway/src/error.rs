//! Errors: [`GatewayError`] for building a gateway, and `ApiError`, the error every handler
//! answers with, which the envelope layer renders like any other answer.

use axum::{
    extract::rejection::{BytesRejection, FormRejection, PathRejection, QueryRejection},
    response::{IntoResponse, Response},
};
use http::StatusCode;
use tonic::Code;

use crate::{envelope::Outcome, input::InputError};

/// Why a [`crate::Gateway`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A service URL in the settings is not a usable gRPC endpoint.
    #[error("invalid URL for the {service} service {url:?}: {reason}")]
    InvalidUrl {
        /// Which service the URL is for.
        service: &'static str,
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The authentication settings cannot be used.
    #[error("{0}")]
    Auth(#[from] abaco_auth::SetupError),
    /// A synchronous message would outwait its own request.
    #[error(
        "sync_wait_secs ({sync_wait_secs}) must be less than request_timeout_secs ({request_timeout_secs})"
    )]
    SyncWaitTooLong {
        /// The setting.
        sync_wait_secs: u64,
        /// The request's bound.
        request_timeout_secs: u64,
    },
    /// An entry of `cors_origins` is not an origin.
    #[error("cors_origins: {0:?} is not an origin such as https://example.org, nor *")]
    BadOrigin(String),
    /// Lazy channels spawn their connection task on the current tokio runtime.
    #[error("the gateway must be built inside a tokio runtime")]
    NoRuntime,
}

/// An answer that went wrong: an HTTP status and a text the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

/// What the caller sees instead of the details of a fault of ours.
pub(crate) const INTERNAL_TEXT: &str = "internal error";

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_TEXT)
    }

    pub(crate) fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        // One table decides the HTTP status for both protocols; only the text is chosen here.
        let http = abaco::error::http_status(status.code());
        match status.code() {
            Code::Unknown if is_transport_error(&status) => {
                // The connection broke mid-call (a service restarting): worth a retry.
                tracing::warn!(error = ?status, "gRPC call cut off");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service unavailable, try again later",
                )
            }
            Code::Internal | Code::Unknown | Code::DataLoss => {
                // Backend texts of this kind may name hosts or credentials: log, do not show.
                tracing::error!(code = ?status.code(), message = status.message(), "backend fault");
                Self::new(http, INTERNAL_TEXT)
            }
            Code::Unavailable if is_transport_error(&status) => {
                // The channel could not reach the service; its text names addresses.
                tracing::warn!(error = ?status, "gRPC service unreachable");
                Self::new(http, "service unavailable, try again later")
            }
            _ if status.message().is_empty() => Self::new(
                http,
                http.canonical_reason()
                    .unwrap_or("error")
                    .to_ascii_lowercase(),
            ),
            _ => Self::new(http, status.message()),
        }
    }
}

/// Whether a status was made by the client channel (connect failure) rather than a service.
fn is_transport_error(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() {
            return true;
        }
        source = error.source();
    }
    false
}

impl From<abaco::AbacoError> for ApiError {
    fn from(error: abaco::AbacoError) -> Self {
        tonic::Status::from(error).into()
    }
}

impl From<InputError> for ApiError {
    fn from(error: InputError) -> Self {
        Self::bad_request(error.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::too_large();
        }
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::too_large();
        }
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A path that matched a route but cannot be decoded is the caller's fault.
        Self::bad_request(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthenticated = self.status == StatusCode::UNAUTHORIZED;
        let mut response = Outcome::error(self.message).into_response_with(self.status);
        if unauthenticated {
            // RFC 6750: a 401 says which scheme would be accepted.
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer realm=\"abaco\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_use_the_shared_table() {
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::PermissionDenied,
            Code::Aborted,
            Code::FailedPrecondition,
            Code::ResourceExhausted,
            Code::Unimplemented,
            Code::DeadlineExceeded,
        ] {
            let error = ApiError::from(tonic::Status::new(code, "told"));
            assert_eq!(error.status, abaco::error::http_status(code), "{code:?}");
            assert_eq!(error.message, "told");
        }
    }

    #[test]
    fn faults_of_ours_hide_their_text() {
        for code in [Code::Internal, Code::Unknown, Code::DataLoss] {
            let error = ApiError::from(tonic::Status::new(code, "redis://user:pw@host"));
            assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(error.message, INTERNAL_TEXT);
        }
    }

    #[tokio::test]
    async fn a_call_cut_off_by_the_transport_is_worth_a_retry() {
        // Nothing listens on port 1: a real transport error.
        let cut = tonic::transport::Endpoint::from_static("http://127.0.0.1:1")
            .connect()
            .await
            .unwrap_err();
        let mut status = tonic::Status::new(Code::Unknown, "transport error");
        status.set_source(std::sync::Arc::new(cut));
        let error = ApiError::from(status);
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.message.contains("try again"), "{}", error.message);
    }

    #[test]
    fn an_empty_text_gets_the_reason_phrase() {
        let error = ApiError::from(tonic::Status::new(Code::NotFound, ""));
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert_eq!(error.message, "not found");
    }

    #[test]
    fn service_unavailable_keeps_the_service_text() {
        let error = ApiError::from(tonic::Status::unavailable("store is down"));
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.message, "store is down");
    }
}
