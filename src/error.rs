//! One error for both protocols. Services return [`AbacoError`]; it becomes a `tonic::Status`
//! on the wire, and the gateway turns the status code into an HTTP status with
//! [`http_status`], one table, so the two protocols never disagree about what went wrong.

use http::StatusCode;
use tonic::Code;

/// Shorthand for results whose error is [`AbacoError`].
pub type Result<T, E = AbacoError> = std::result::Result<T, E>;

/// Everything a caller of an abaco service can be told went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AbacoError {
    /// The request is malformed or a value is out of range; the text names the field.
    #[error("{0}")]
    Invalid(String),
    /// The caller is not known.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A record the request names does not exist; the text names kind and id.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the record's current state (a lost compare-and-set race,
    /// a duplicate, an actor that is shutting down).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed, but cannot be carried out as asked.
    #[error("{0}")]
    Unprocessable(String),
    /// Too many requests, or too much of something the platform bounds (state, workers).
    #[error("{0}")]
    TooMuch(String),
    /// One item is larger than the platform can carry (a message past the environment's
    /// limit); the text names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// A backend (store, broker, Docker) cannot be reached; the request may be retried.
    #[error("{0}")]
    Unavailable(String),
    /// A waited-for result did not come in time.
    #[error("{0}")]
    Timeout(String),
    /// A fault of ours. The text is logged, never shown to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AbacoError {
    /// A validation error naming what is wrong.
    pub fn invalid(text: impl Into<String>) -> Self {
        Self::Invalid(text.into())
    }

    /// A missing record.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("{kind} not found: {id}"))
    }

    /// An internal fault, with its cause kept for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The gRPC code for this error.
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::PermissionDenied,
            Self::NotFound(_) => Code::NotFound,
            Self::Conflict(_) => Code::Aborted,
            Self::Unprocessable(_) => Code::FailedPrecondition,
            Self::TooMuch(_) => Code::ResourceExhausted,
            Self::TooLarge(_) => Code::OutOfRange,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Timeout(_) => Code::DeadlineExceeded,
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<AbacoError> for tonic::Status {
    fn from(error: AbacoError) -> Self {
        if let AbacoError::Internal(cause) = &error {
            // The cause may name hosts, paths or credentials: log it, answer a fixed text.
            tracing::error!(%cause, "internal error");
            return tonic::Status::internal("internal error");
        }
        tonic::Status::new(error.code(), error.to_string())
    }
}

impl From<tonic::Status> for AbacoError {
    fn from(status: tonic::Status) -> Self {
        let text = status.message().to_string();
        match status.code() {
            Code::InvalidArgument => Self::Invalid(text),
            Code::OutOfRange => Self::TooLarge(text),
            Code::Unauthenticated => Self::Unauthenticated(text),
            Code::PermissionDenied => Self::Forbidden(text),
            Code::NotFound => Self::NotFound(text),
            Code::AlreadyExists | Code::Aborted => Self::Conflict(text),
            Code::FailedPrecondition => Self::Unprocessable(text),
            Code::ResourceExhausted => Self::TooMuch(text),
            Code::Unavailable => Self::Unavailable(text),
            Code::DeadlineExceeded | Code::Cancelled => Self::Timeout(text),
            Code::Ok | Code::Unknown | Code::Unimplemented | Code::Internal | Code::DataLoss => {
                Self::Internal(text)
            }
        }
    }
}

/// A service result as a gRPC answer.
pub fn respond<T>(result: Result<T>) -> std::result::Result<tonic::Response<T>, tonic::Status> {
    result
        .map(tonic::Response::new)
        .map_err(tonic::Status::from)
}

/// The HTTP status that answers a gRPC code. Exhaustive on purpose: a new code must be placed.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        // gRPC's "past the valid range" is the one code for an item too big to carry.
        Code::OutOfRange => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::FailedPrecondition => StatusCode::UNPROCESSABLE_ENTITY,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Cancelled | Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_status_users_expect() {
        let cases = [
            (AbacoError::invalid("image is required"), 400),
            (AbacoError::Unauthenticated("who?".into()), 401),
            (AbacoError::Forbidden("no".into()), 403),
            (AbacoError::not_found("actor", "x"), 404),
            (AbacoError::Conflict("raced".into()), 409),
            (AbacoError::Unprocessable("image missing".into()), 422),
            (AbacoError::TooMuch("slow down".into()), 429),
            (AbacoError::TooLarge("message too big".into()), 413),
            (AbacoError::Unavailable("redis down".into()), 503),
            (AbacoError::Timeout("waited".into()), 504),
            (AbacoError::internal("secret path"), 500),
        ];
        for (error, expected) in cases {
            assert_eq!(http_status(error.code()).as_u16(), expected, "{error:?}");
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let status = tonic::Status::from(AbacoError::internal("redis://user:pw@host"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("pw"));
    }

    #[test]
    fn not_found_names_the_record() {
        let status = tonic::Status::from(AbacoError::not_found("actor", "0abc"));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "actor not found: 0abc");
    }
}
