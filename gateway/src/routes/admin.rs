//! `/actors/utilization` and `/actors/admin...`: platform-wide Admin calls, for administrators.

use abaco::pb;
use axum::extract::State;

use super::view;
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller};

pub(super) async fn utilization(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let utilization = gw
        .admin()
        .get_utilization(caller.request(pb::UtilizationRequest {})?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Utilization retrieved successfully.",
        view(&gw, &caller).utilization(&utilization),
    ))
}

/// `GET /actors/admin`: every actor of the platform.
pub(super) async fn all_actors(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let actors = gw
        .admin()
        .list_all_actors(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .actors;
    let view = view(&gw, &caller);
    Ok(Reply::ok(
        "Actors retrieved successfully.",
        actors
            .iter()
            .map(|a| view.actor(a))
            .collect::<Vec<_>>()
            .into(),
    ))
}

/// `GET /actors/admin/workers`: every worker of the platform.
pub(super) async fn all_workers(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let workers = gw
        .admin()
        .list_all_workers(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .workers;
    Ok(Reply::ok(
        "Workers retrieved successfully.",
        view(&gw, &caller).workers(&workers),
    ))
}

/// `GET /actors/admin/executions`: every execution of the platform.
pub(super) async fn all_executions(
    State(gw): State<Gateway>,
    caller: Caller,
) -> Result<Reply, ApiError> {
    let executions = gw
        .admin()
        .list_all_executions(caller.request(pb::AdminListRequest {})?)
        .await?
        .into_inner()
        .executions;
    let view = view(&gw, &caller);
    Ok(Reply::ok(
        "Executions retrieved successfully.",
        executions
            .iter()
            .map(|e| view.execution(e))
            .collect::<Vec<_>>()
            .into(),
    ))
}
