//! Cross-origin requests from web pages: the origins `cors_origins` names (`*`, the default,
//! for any, as abaco allowed), every method the API has, and any request header (tokens travel
//! in `Authorization`, `X-Tapis-Token` and `X-Jwt-Assertion-*`, never in cookies, so no origin
//! gains a credential it did not bring).

use http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::GatewayError;

/// Refuses an entry that is neither `*` nor an origin a header can carry.
pub(crate) fn check(origins: &[String]) -> Result<(), GatewayError> {
    for origin in origins {
        let plausible = origin == "*"
            || ((origin.starts_with("http://") || origin.starts_with("https://"))
                && HeaderValue::from_str(origin).is_ok());
        if !plausible {
            return Err(GatewayError::BadOrigin(origin.clone()));
        }
    }
    Ok(())
}

/// The layer for `origins` (checked by [`check`]).
pub(crate) fn layer(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(Any)
}
