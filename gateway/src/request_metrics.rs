//! REST requests counted and timed by route pattern (never by concrete path, whose ids would
//! make every actor a new series).

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};

/// Records the answer to a routed request; unrouted ones (404s) are not recorded.
pub(crate) async fn record(route: MatchedPath, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = route.as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        abaco::metrics::HTTP_DURATION,
        "method" => method,
        "route" => route.clone()
    )
    .record(started.elapsed());
    metrics::counter!(
        abaco::metrics::HTTP_REQUESTS,
        "method" => method,
        "route" => route,
        "status" => response.status().as_str().to_owned()
    )
    .increment(1);
    response
}

/// The method as a label: the standard ones by name, any other as `OTHER`.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
