//! `GET .../executions/{id}/logs?follow=true`: the run's output as Server-Sent Events, from
//! the first line while it runs to its end. Each chunk of output is one `message` event (its
//! lines as the event's `data:` lines); the last event is `end`, with the execution's final
//! status; a failure midway is an `error` event.

use std::{convert::Infallible, time::Duration};

use abaco::pb;
use axum::response::{
    IntoResponse, Response,
    sse::{Event, KeepAlive, Sse},
};
use futures::StreamExt;

use crate::{Gateway, error::ApiError, identity::Caller};

pub(super) async fn logs(
    gw: &Gateway,
    caller: &Caller,
    actor_id: String,
    execution_id: String,
) -> Result<Response, ApiError> {
    let chunks = gw
        .registration()
        .follow_execution_logs(caller.streaming_request(pb::GetExecutionRequest {
            actor_id,
            execution_id,
        }))
        .await?
        .into_inner();
    let events = chunks.map(|chunk| {
        Ok::<_, Infallible>(match chunk {
            Ok(chunk) if chunk.done => Event::default().event("end").data(chunk.status),
            Ok(chunk) => Event::default().data(chunk.text),
            Err(status) => Event::default().event("error").data(status.message()),
        })
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(
            gw.settings().follow_keep_alive_secs.max(1),
        )))
        .into_response())
}
