//! Paths as abaco's nginx front tidied them before its API saw them: runs of slashes are one
//! (`//actors` is `/actors`), and a slash after `/messages` is dropped. Any other trailing
//! slash stays, so `/actors/` is not found, as in abaco.

use axum::extract::Request;

/// The request with its path tidied.
pub(crate) fn tidy(mut request: Request) -> Request {
    let path = request.uri().path();
    if !path.contains("//") && !path.ends_with("/messages/") {
        return request;
    }
    let mut tidied = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && tidied.ends_with('/')) {
            tidied.push(c);
        }
    }
    if tidied.ends_with("/messages/") {
        tidied.pop();
    }
    let rebuilt = match request.uri().query() {
        Some(query) => format!("{tidied}?{query}"),
        None => tidied,
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = rebuilt.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(uri: &str) -> String {
        let request = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        tidy(request).uri().to_string()
    }

    #[test]
    fn slashes_are_tidied_as_nginx_did() {
        assert_eq!(path_of("//actors"), "//actors".replacen("//", "/", 1));
        assert_eq!(path_of("/actors//a1///messages"), "/actors/a1/messages");
        assert_eq!(
            path_of("/actors/a1/messages/?x=1"),
            "/actors/a1/messages?x=1"
        );
        assert_eq!(path_of("/actors/"), "/actors/");
        assert_eq!(path_of("/v3//actors/a1"), "/v3/actors/a1");
    }
}
