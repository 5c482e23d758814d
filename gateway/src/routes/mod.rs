//! The route table, and the answers that belong to no route.

use axum::{
    Router,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{Gateway, error::ApiError, identity::Caller, openapi, views::View};

mod actors;
mod admin;
mod aliases;
mod configs;
mod dead_letters;
mod executions;
mod follow;
mod messages;
mod nonces;
mod paging;
mod permissions;
mod search;
mod sharing;
mod workers;

/// Every route, at `/actors...` and again under `/v3`, and the API's description of them at
/// `/openapi.json` (and `/docs`), generated from the same table.
pub(crate) fn table(version: &str) -> Router<Gateway> {
    let (routes, api) = documented().split_for_parts();
    // After the routes: it is installed on each route registered so far.
    let routes = routes.method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .merge(routes.clone())
        .nest("/v3", routes)
        .route_layer(axum::middleware::from_fn(crate::request_metrics::record))
        .merge(openapi::routes(openapi::document(api, version)))
        .fallback(not_found)
}

/// The routes of the API with their descriptions.
pub(crate) fn documented() -> OpenApiRouter<Gateway> {
    // Static segments (`aliases`, `utilization`, ...) win over `{actor_id}` in axum's router,
    // whatever the order here. Each `routes!` holds the handlers of one path.
    OpenApiRouter::new()
        .routes(routes!(actors::list, actors::create))
        .routes(routes!(admin::utilization))
        .routes(routes!(aliases::list, aliases::create))
        .routes(routes!(aliases::get, aliases::update, aliases::delete))
        .routes(routes!(permissions::get_alias, permissions::set_alias))
        .routes(routes!(nonces::list_alias, nonces::create_alias))
        .routes(routes!(nonces::get_alias, nonces::delete_alias))
        .routes(routes!(configs::list, configs::create))
        .routes(routes!(configs::get, configs::update, configs::delete))
        .routes(routes!(permissions::get_config, permissions::set_config))
        .routes(routes!(search::search))
        .routes(routes!(admin::all_actors))
        .routes(routes!(admin::all_workers))
        .routes(routes!(admin::all_executions))
        .routes(routes!(
            actors::get,
            actors::replace,
            actors::patch,
            actors::delete
        ))
        .routes(routes!(messages::count, messages::send, messages::purge))
        .routes(routes!(executions::list))
        .routes(routes!(executions::get, executions::force_quit))
        .routes(routes!(executions::logs))
        .routes(routes!(executions::results))
        .routes(routes!(actors::get_state, actors::set_state))
        .routes(routes!(workers::list, workers::ensure))
        .routes(routes!(workers::get, workers::delete))
        .routes(routes!(nonces::list_actor, nonces::create_actor))
        .routes(routes!(nonces::get_actor, nonces::delete_actor))
        .routes(routes!(permissions::get_actor, permissions::set_actor))
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::replay_all))
        .routes(routes!(dead_letters::replay_one))
        .routes(routes!(dead_letters::delete))
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
