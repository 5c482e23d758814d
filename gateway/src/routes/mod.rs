//! The route table, and the answers that belong to no route.

use axum::{
    Router,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use http::{StatusCode, header};

use crate::{Gateway, error::ApiError, identity::Caller, views::View};

mod actors;
mod admin;
mod aliases;
mod configs;
mod executions;
mod follow;
mod messages;
mod nonces;
mod permissions;
mod search;
mod sharing;
mod workers;

/// Every route, at `/actors...` and again under `/v3`.
pub(crate) fn table() -> Router<Gateway> {
    Router::new()
        .merge(actor_routes())
        .nest("/v3", actor_routes())
        .fallback(not_found)
}

fn actor_routes() -> Router<Gateway> {
    // Static segments (`aliases`, `utilization`, ...) win over `{actor_id}` in axum's router,
    // whatever the order here.
    Router::new()
        .route("/actors", get(actors::list).post(actors::create))
        .route("/actors/utilization", get(admin::utilization))
        .route("/actors/aliases", get(aliases::list).post(aliases::create))
        .route(
            "/actors/aliases/{alias}",
            get(aliases::get)
                .put(aliases::update)
                .delete(aliases::delete),
        )
        .route(
            "/actors/aliases/{alias}/permissions",
            get(permissions::get::<{ sharing::ALIAS }>)
                .post(permissions::set::<{ sharing::ALIAS }>),
        )
        .route(
            "/actors/aliases/{alias}/nonces",
            get(nonces::list::<true>).post(nonces::create::<true>),
        )
        .route(
            "/actors/aliases/{alias}/nonces/{nonce_id}",
            get(nonces::get::<true>).delete(nonces::delete::<true>),
        )
        .route("/actors/configs", get(configs::list).post(configs::create))
        .route(
            "/actors/configs/{name}",
            get(configs::get)
                .put(configs::update)
                .delete(configs::delete),
        )
        .route(
            "/actors/configs/{name}/permissions",
            get(permissions::get::<{ sharing::CONFIG }>)
                .post(permissions::set::<{ sharing::CONFIG }>),
        )
        .route("/actors/search/{kind}", get(search::search))
        .route("/actors/admin", get(admin::all_actors))
        .route("/actors/admin/workers", get(admin::all_workers))
        .route("/actors/admin/executions", get(admin::all_executions))
        .route(
            "/actors/{actor_id}",
            get(actors::get)
                .put(actors::replace)
                .patch(actors::patch)
                .delete(actors::delete),
        )
        .route(
            "/actors/{actor_id}/messages",
            get(messages::count)
                .post(messages::send)
                .delete(messages::purge),
        )
        .route("/actors/{actor_id}/executions", get(executions::list))
        .route(
            "/actors/{actor_id}/executions/{execution_id}",
            get(executions::get).delete(executions::force_quit),
        )
        .route(
            "/actors/{actor_id}/executions/{execution_id}/logs",
            get(executions::logs),
        )
        .route(
            "/actors/{actor_id}/executions/{execution_id}/results",
            get(executions::results),
        )
        .route(
            "/actors/{actor_id}/state",
            get(actors::get_state).post(actors::set_state),
        )
        .route(
            "/actors/{actor_id}/workers",
            get(workers::list).post(workers::ensure),
        )
        .route(
            "/actors/{actor_id}/workers/{worker_id}",
            get(workers::get).delete(workers::delete),
        )
        .route(
            "/actors/{actor_id}/nonces",
            get(nonces::list::<false>).post(nonces::create::<false>),
        )
        .route(
            "/actors/{actor_id}/nonces/{nonce_id}",
            get(nonces::get::<false>).delete(nonces::delete::<false>),
        )
        .route(
            "/actors/{actor_id}/permissions",
            get(permissions::get::<{ sharing::ACTOR }>)
                .post(permissions::set::<{ sharing::ACTOR }>),
        )
        // After the routes: it is installed on each route registered so far.
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

/// Bodies up to this size are read and dropped before a 413 is answered: a client still
/// writing its body when the connection closes sees a broken pipe instead of the answer.
/// Larger ones are refused at once, whatever that does to the client.
const DRAIN_AT_MOST: u64 = 64 * 1024 * 1024;

/// Refuses a body whose declared length is over the limit, without parsing any of it.
pub(crate) async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            if length <= DRAIN_AT_MOST {
                let mut body = request.into_body().into_data_stream();
                while let Some(Ok(_)) = futures::StreamExt::next(&mut body).await {}
            }
            ApiError::too_large().into_response()
        }
        _ => next.run(request).await,
    }
}

/// The view of one request's answers.
fn view(gateway: &Gateway, caller: &Caller) -> View {
    View::new(gateway.settings().case, caller.clone())
}
