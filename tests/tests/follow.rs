//! Following logs on both backends: `logs?follow=true` streams a run's output as Server-Sent
//! Events while it runs, to an `end` event with its final status, and the gRPC stream does
//! the same; what was streamed is the stored log, byte for byte.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use abaco::pb::{self, registration_client::RegistrationClient};
use abaco_tests::{
    Platform, on_both_backends,
    steps::{eventually, finished, logs_of, register, running, send, workers},
};
use futures::StreamExt;
use serde_json::json;

on_both_backends!(
    server_sent_events_carry_a_run_from_its_first_line_to_its_end,
    grpc_streams_a_run_and_a_finished_one,
    following_needs_read_access,
);

const LIMIT: Duration = Duration::from_secs(60);

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: String,
    data: String,
    /// When it arrived.
    at: Instant,
}

/// Reads the events of `response` to the `end` event (or the stream's end).
async fn events(response: reqwest::Response) -> Vec<Event> {
    let mut stream = response.bytes_stream();
    let (mut buffer, mut events) = (String::new(), Vec::new());
    while let Some(chunk) = tokio::time::timeout(LIMIT, stream.next()).await.unwrap() {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut name, mut data) = ("message".to_string(), Vec::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_string();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
                }
            }
            if data.is_empty() && name == "message" {
                continue; // a keep-alive comment
            }
            let done = name == "end";
            events.push(Event {
                name,
                data: data.join("\n"),
                at: Instant::now(),
            });
            if done {
                return events;
            }
        }
    }
    events
}

async fn server_sent_events_carry_a_run_from_its_first_line_to_its_end(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-sleep"})).await;
    let execution = send(api, &actor, "", "str", b"3".to_vec()).await;
    let response = reqwest::Client::new()
        .get(api.url(&format!(
            "/actors/{actor}/executions/{execution}/logs?follow=true"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let events = events(response).await;
    let end = events.last().unwrap();
    assert_eq!((end.name.as_str(), end.data.as_str()), ("end", "COMPLETE"));
    let record = finished(api, &actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE");

    // The output came as the run went: the first line seconds before the end.
    let first = &events[0];
    assert!(
        first.data.starts_with("still running after 0s"),
        "{events:?}"
    );
    assert!(
        end.at.duration_since(first.at) >= Duration::from_secs(2),
        "the first line came only at the end: {events:?}"
    );
    // Each event is one chunk of output; its lines are the event's data lines.
    let streamed: String = events[..events.len() - 1]
        .iter()
        .map(|e| e.data.clone())
        .collect();
    let stored = logs_of(api, &actor, &execution).await;
    assert_eq!(streamed.trim_end(), stored.trim_end());
}

async fn grpc_streams_a_run_and_a_finished_one(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-sleep"})).await;
    let execution = send(api, &actor, "", "str", b"2".to_vec()).await;
    running(api, &actor, &execution, LIMIT).await;
    // The worker record names the container of the run in progress (abaco's `cid`).
    let prefix = format!("abaco-{execution}-");
    eventually(LIMIT, "the worker to show its run's container", || async {
        workers(api, &actor)
            .await
            .iter()
            .any(|w| w["cid"].as_str().unwrap_or_default().starts_with(&prefix))
            .then_some(())
    })
    .await;
    let mut client =
        RegistrationClient::connect(format!("http://{}", platform.service_addr("registration")))
            .await
            .unwrap();
    let request = || pb::GetExecutionRequest {
        actor_id: actor.clone(),
        execution_id: execution.clone(),
    };
    let mut chunks = client
        .follow_execution_logs(request())
        .await
        .unwrap()
        .into_inner();
    let mut text = String::new();
    let mut last = pb::LogChunk::default();
    while let Some(chunk) = tokio::time::timeout(LIMIT, chunks.next()).await.unwrap() {
        last = chunk.unwrap();
        text.push_str(&last.text);
    }
    assert!(last.done);
    assert_eq!(last.status, "COMPLETE");
    assert_eq!(text, logs_of(api, &actor, &execution).await);

    // Followed after it ended: all of it at once, then the end.
    let again: Vec<pb::LogChunk> = client
        .follow_execution_logs(request())
        .await
        .unwrap()
        .into_inner()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(again[0].text, text);
    assert!(again[1].done);
}

async fn following_needs_read_access(platform: Platform) {
    let alice = platform.api_as("alice");
    let actor = register(&alice, json!({"image": "abaco/sample-echo"})).await;
    let execution = send(&alice, &actor, "", "str", b"x".to_vec()).await;
    finished(&alice, &actor, &execution, LIMIT).await;
    let path = format!("/actors/{actor}/executions/{execution}/logs?follow=true");
    platform
        .api_as("bob")
        .get(&path)
        .await
        .unwrap()
        .error(403, "READ");
    alice
        .get(&format!(
            "/actors/{actor}/executions/0NoSuchExec0/logs?follow=true"
        ))
        .await
        .unwrap()
        .error(404, "0NoSuchExec0");
}
