//! One trace per message, on both backends: a REST send that carries a W3C `traceparent`
//! yields spans, exported over OTLP to a real collector on loopback, that chain from the
//! caller's span through the gateway, the messages service, the mailbox, the worker's
//! execution, each Docker call, to the final record.

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, time::Duration};

use abaco_tests::{
    BackendKind, Platform,
    otlp::{Collector, ReceivedSpan},
    steps::{eventually, finished, register, send},
};
use serde_json::json;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The names of `span` and its ancestors among `spans`, nearest first.
fn lineage(span: &ReceivedSpan, spans: &[ReceivedSpan]) -> Vec<String> {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut names = vec![span.name.clone()];
    let mut parent = span.parent_id.as_str();
    while let Some(next) = by_id.get(parent) {
        names.push(next.name.clone());
        parent = next.parent_id.as_str();
    }
    // The root's parent is the caller's span, which the platform never exported.
    names.push(format!("parent {parent}"));
    names
}

async fn one_trace_per_message(kind: BackendKind) {
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let platform = Platform::start_with_settings(
        kind,
        &[
            ("ABACO_OTLP_ENDPOINT", endpoint.as_str()),
            // Spans leave in batches; a short delay keeps the test short.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ],
    )
    .await;
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let traced = api.with_header("traceparent", &format!("00-{TRACE_ID}-{CALLER_SPAN}-01"));
    let execution = send(&traced, &actor, "", "text/plain", b"traced".to_vec()).await;
    let record = finished(api, &actor, &execution, Duration::from_secs(60)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");

    let wanted = [
        "send_message",
        "execution",
        "docker.create",
        "docker.start",
        "docker.wait",
        "docker.logs",
        "docker.remove",
        "execution.record",
    ];
    let spans = eventually(Duration::from_secs(30), "the trace's spans", || async {
        let spans = collector.trace(TRACE_ID);
        wanted
            .iter()
            .all(|name| spans.iter().any(|s| s.name == *name))
            .then_some(spans)
    })
    .await;
    let named = |name: &str| spans.iter().find(|s| s.name == name).unwrap();

    // Every span of the message descends from the caller's span, through the execution.
    for name in [
        "docker.create",
        "docker.start",
        "docker.wait",
        "docker.logs",
        "docker.remove",
        "execution.record",
    ] {
        let line = lineage(named(name), &spans);
        let expected = ["execution", "send_message"];
        for ancestor in expected {
            assert!(line.iter().any(|n| n == ancestor), "{name}: {line:?}");
        }
        assert_eq!(
            line.last().unwrap(),
            &format!("parent {CALLER_SPAN}"),
            "{name}: {line:?}"
        );
    }
    let services: Vec<&str> = spans.iter().map(|s| s.service.as_str()).collect();
    match kind {
        BackendKind::Embedded => assert!(services.iter().all(|s| *s == "abaco-up"), "{services:?}"),
        BackendKind::Distributed => {
            // Each hop in its own process: the gateway, the messages service over gRPC, and
            // the worker process across RabbitMQ.
            assert_eq!(named("send_message").service, "abaco-messages");
            assert_eq!(named("execution").service, "abaco-worker");
            assert!(services.contains(&"abaco-gateway"), "{services:?}");
            let grpc = spans
                .iter()
                .find(|s| s.name == "/abaco.v1.Messages/SendMessage")
                .unwrap_or_else(|| panic!("no gRPC server span: {spans:?}"));
            assert_eq!(grpc.service, "abaco-messages");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_one_trace_per_message() {
    one_trace_per_message(BackendKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_one_trace_per_message() {
    one_trace_per_message(BackendKind::Distributed).await;
}
