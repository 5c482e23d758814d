//! `/actors/{id}/deadletters...`: messages a worker put aside instead of running, through the
//! Messages service.

use abaco::pb;
use axum::{
    extract::{Path, RawQuery, State, rejection::PathRejection},
    response::Response,
};

use super::{paging, search, view};
use crate::{Gateway, envelope::Reply, error::ApiError, identity::Caller, openapi as doc};

type ActorPath = Result<Path<String>, PathRejection>;
type LetterPath = Result<Path<(String, String)>, PathRejection>;

#[utoipa::path(
    get,
    operation_id = "dead_letters_list",
    path = "/actors/{actor_id}/deadletters",
    tag = "messages",
    summary = "Messages a worker put aside instead of running, oldest first",
    params(doc::ActorPath, doc::Page),
    responses((status = 200, description = "The dead letters", body = doc::Envelope<Vec<doc::DeadLetter>>, headers(("X-Next-Cursor" = String, description = "The cursor of the next page, when there is one"))))
)]
pub(super) async fn list(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let Path(actor_id) = path?;
    let page = paging::page_of(&search::params(query.as_deref())?)?;
    let letters = gw
        .messages()
        .list_dead_letters(caller.request(pb::ListDeadLettersRequest {
            actor_id,
            page: Some(page),
        })?)
        .await?
        .into_inner();
    Ok(paging::with_next(
        Reply::ok(
            "Dead letters retrieved successfully.",
            view(&gw, &caller).dead_letters(&letters),
        ),
        &letters.next_cursor,
    ))
}

#[utoipa::path(
    post,
    operation_id = "dead_letters_replay_all",
    path = "/actors/{actor_id}/deadletters/replay",
    tag = "messages",
    summary = "Send every dead letter again, each under its own execution id",
    params(doc::ActorPath),
    responses((status = 200, description = "The executions they run as", body = doc::Envelope<doc::Replayed>))
)]
pub(super) async fn replay_all(
    State(gw): State<Gateway>,
    caller: Caller,
    path: ActorPath,
) -> Result<Reply, ApiError> {
    let Path(actor_id) = path?;
    replay(&gw, &caller, actor_id, String::new()).await
}

#[utoipa::path(
    post,
    operation_id = "dead_letters_replay",
    path = "/actors/{actor_id}/deadletters/{dead_letter_id}/replay",
    tag = "messages",
    summary = "Send a dead letter again, under its own execution id",
    params(doc::DeadLetterPath),
    responses((status = 200, description = "The execution it runs as", body = doc::Envelope<doc::Replayed>))
)]
pub(super) async fn replay_one(
    State(gw): State<Gateway>,
    caller: Caller,
    path: LetterPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, dead_letter_id)) = path?;
    replay(&gw, &caller, actor_id, dead_letter_id).await
}

async fn replay(
    gw: &Gateway,
    caller: &Caller,
    actor_id: String,
    dead_letter_id: String,
) -> Result<Reply, ApiError> {
    let replayed = gw
        .messages()
        .replay_dead_letters(caller.request(pb::DeadLetterRef {
            actor_id,
            dead_letter_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Dead letters sent again.",
        view(gw, caller).replayed(&replayed),
    ))
}

#[utoipa::path(
    delete,
    operation_id = "dead_letters_delete",
    path = "/actors/{actor_id}/deadletters/{dead_letter_id}",
    tag = "messages",
    summary = "Forget a dead letter without sending it",
    params(doc::DeadLetterPath),
    responses((status = 200, description = "The dead letters left", body = doc::Envelope<Vec<doc::DeadLetter>>))
)]
pub(super) async fn delete(
    State(gw): State<Gateway>,
    caller: Caller,
    path: LetterPath,
) -> Result<Reply, ApiError> {
    let Path((actor_id, dead_letter_id)) = path?;
    let letters = gw
        .messages()
        .delete_dead_letter(caller.request(pb::DeadLetterRef {
            actor_id,
            dead_letter_id,
        })?)
        .await?
        .into_inner();
    Ok(Reply::ok(
        "Dead letter deleted.",
        view(&gw, &caller).dead_letters(&letters),
    ))
}
