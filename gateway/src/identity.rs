//! Who is calling and where the caller reached us: the user forwarded to the services, and the
//! base URL the `_links` of an answer are built from.

use abaco::identity::{USER_METADATA, is_valid_user};
use axum::extract::FromRequestParts;
use http::{header, request::Parts};
use tonic::metadata::MetadataValue;

use crate::{Gateway, error::ApiError};

/// The header a caller names its user with (there is no authentication yet).
pub const USER_HEADER: &str = "x-abaco-user";

/// The caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The user the request acts as.
    pub(crate) user: String,
    /// `http://host` as the caller addressed us, for links.
    pub(crate) base: String,
}

impl Caller {
    /// A gRPC request that carries the caller's user and the trace context of the current span.
    pub(crate) fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ApiError> {
        let mut request = tonic::Request::new(message);
        // The user was validated as ASCII, so this only fails on a bug; still no panic.
        let value = MetadataValue::try_from(self.user.as_str())
            .map_err(|_| ApiError::bad_request("X-Abaco-User is not a valid header value"))?;
        request.metadata_mut().insert(USER_METADATA, value);
        // The service's span joins this request's trace.
        abaco::trace_context::inject_metadata(&tracing::Span::current(), request.metadata_mut());
        request.set_timeout(crate::REQUEST_TIMEOUT);
        Ok(request)
    }

    /// The link of a user's profile.
    pub(crate) fn profile_link(&self, user: &str) -> String {
        format!("{}/profiles/{user}", self.base)
    }
}

impl FromRequestParts<Gateway> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Gateway) -> Result<Self, ApiError> {
        let settings = gateway.settings();
        let user = match parts.headers.get(USER_HEADER) {
            None => settings.default_user.clone(),
            Some(value) => value
                .to_str()
                .ok()
                .filter(|user| is_valid_user(user))
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::bad_request("X-Abaco-User must be 1-64 characters of A-Za-z0-9_.@-")
                })?,
        };
        // HTTP/1.1 sends Host; HTTP/2 puts the authority in the URI.
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| is_plausible_host(host))
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| settings.http_addr.to_string());
        Ok(Self {
            user,
            base: format!("http://{host}"),
        })
    }
}

/// Whether a Host header is fit to be echoed into links (no path, no spaces, no userinfo).
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_with_paths_or_userinfo_are_not_echoed() {
        assert!(is_plausible_host("localhost:8000"));
        assert!(is_plausible_host("[::1]:8000"));
        assert!(!is_plausible_host("evil.com/x"));
        assert!(!is_plausible_host("user@evil.com"));
        assert!(!is_plausible_host(""));
    }
}
