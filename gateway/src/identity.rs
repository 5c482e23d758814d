//! Who is calling and where the caller reached us: the caller the authenticator verified
//! (forwarded to the services with the internal token), and the base URL the `_links` of an
//! answer are built from.

use abaco::identity::{Caller as Identity, NONCE_METADATA};
use abaco_auth::Edge;
use axum::extract::{FromRequestParts, Query};
use http::{header, request::Parts};

use crate::{Gateway, error::ApiError};

/// The header a caller names its user with in `header` mode.
pub const USER_HEADER: &str = abaco::identity::USER_METADATA;

/// The caller of one request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// Who the request acts as.
    pub(crate) identity: Identity,
    /// `http://host` as the caller addressed us, for links.
    pub(crate) base: String,
    /// The platform's internal token, which makes the services believe `identity`.
    internal_token: Option<String>,
    /// The deadline of each gRPC call.
    timeout: std::time::Duration,
}

impl Caller {
    /// A gRPC request that carries the caller and the trace context of the current span.
    pub(crate) fn request<T>(&self, message: T) -> Result<tonic::Request<T>, ApiError> {
        Ok(self.request_as(&self.identity, message))
    }

    /// A gRPC request for a stream that lasts as long as it has to (a followed run): no
    /// deadline.
    pub(crate) fn streaming_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.identity
            .forward(request.metadata_mut(), self.internal_token.as_deref());
        abaco::trace_context::inject_metadata(&tracing::Span::current(), request.metadata_mut());
        request
    }

    /// A gRPC request made for `identity` (the user a nonce turned out to stand for).
    pub(crate) fn request_as<T>(&self, identity: &Identity, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        identity.forward(request.metadata_mut(), self.internal_token.as_deref());
        // The service's span joins this request's trace.
        abaco::trace_context::inject_metadata(&tracing::Span::current(), request.metadata_mut());
        request.set_timeout(self.timeout);
        request
    }

    /// A caller reached at `base`, whose calls carry no internal token.
    #[cfg(test)]
    pub(crate) fn new(identity: Identity, base: &str) -> Self {
        Self {
            identity,
            base: base.to_owned(),
            internal_token: None,
            timeout: std::time::Duration::from_secs(30),
        }
    }

    /// The link of a user's profile.
    pub(crate) fn profile_link(&self, user: &str) -> String {
        format!("{}/profiles/{user}", self.base)
    }
}

impl FromRequestParts<Gateway> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Gateway) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)?;
        let nonce = pairs
            .iter()
            .find(|(name, _)| name == NONCE_METADATA)
            .map(|(_, value)| value.as_str());
        let auth = gateway.authenticator();
        let identity = auth.authenticate(&parts.headers, nonce, Edge::Rest)?;
        // HTTP/1.1 sends Host; HTTP/2 puts the authority in the URI.
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| is_plausible_host(host))
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| gateway.settings().http_addr.to_string());
        Ok(Self {
            identity,
            base: format!("http://{host}"),
            internal_token: auth.internal_token().map(str::to_owned),
            timeout: gateway.request_timeout(),
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
