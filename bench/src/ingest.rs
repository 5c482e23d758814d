//! Ingest: accepting messages through the gateway and through gRPC, against the raw cost of
//! storing one record and publishing one confirmed message.
//!
//! Messages go to an actor with one worker (`maxWorkers: 1`) that is busy with a container
//! that never ends (the sleeping sample given a non-number): the platform takes its usual
//! path for an actor with a live worker, and the measured messages stay queued, so no other
//! container runs while ingest is measured.

use std::{sync::Arc, time::Duration};

use abaco::pb::{self, messages_client::MessagesClient};
use anyhow::{Context, Result};
use bytes::Bytes;
use prost::Message as _;
use serde_json::json;

use crate::{
    Settings,
    api::Api,
    baseline::{EmbeddedParts, RawQueueStore},
    load,
    platform::{Platform, Topology},
    report::{Row, Verdict},
    stats::{Series, ms},
};

/// The sleeping sample: given a message that is not a number, it runs until stopped.
const BLOCKER_IMAGE: &str = "abaco/sample-sleep";

/// Messages sent before each measured series, to warm connections and caches.
const WARMUP: usize = 200;

/// Measures one topology; its rows.
pub async fn run(settings: &Settings, topology: Topology) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, topology).await?;
    let api = platform.api.clone();
    let actor = api
        .create_actor(&json!({
            "image": BLOCKER_IMAGE,
            "name": "bench-ingest",
            "minWorkers": 1,
            "maxWorkers": 1,
            "maxRunTime": 900,
        }))
        .await?;
    api.wait_actor(&actor, &["READY"], Duration::from_secs(60))
        .await
        .context("waiting for the ingest actor's worker")?;
    let blocker = api.send(&actor, "{\"block\": true}").await?;
    api.wait_execution(&actor, &blocker, &["SUBMITTED"], Duration::from_secs(60))
        .await
        .context("waiting for the blocking run to start")?;
    let body = message_body(settings.message_bytes);
    let (record, message) = wire_records(&actor, &body);
    let topo = topology.name();
    let (n, c) = (settings.messages, settings.concurrency);

    // Baseline first, then the platform's two fronts, then the fixed rate.
    let baseline = match topology {
        Topology::Distributed => {
            let raw = RawQueueStore::connect(
                &settings.env.amqp_url,
                &settings.env.redis_url,
                &platform.namespace,
            )
            .await?;
            let op = {
                let raw = raw.clone();
                let (record, message) = (record.clone(), message.clone());
                move |_| {
                    let (raw, record, message) = (raw.clone(), record.clone(), message.clone());
                    async move { raw.accept(record, &message).await }
                }
            };
            load::closed_loop(WARMUP, c, op.clone()).await;
            let series = load::closed_loop(n, c, op).await;
            raw.cleanup().await?;
            series
        }
        Topology::Embedded => {
            let dir = tempfile::Builder::new().prefix("abaco-bench-").tempdir()?;
            let parts = EmbeddedParts::open(dir.path(), "baseline").await?;
            let op = {
                let (record, message) = (record.clone(), message.clone());
                move |_| {
                    let (parts, record, message) = (parts.clone(), record.clone(), message.clone());
                    async move { parts.accept("baseline", record, message).await }
                }
            };
            load::closed_loop(WARMUP, c, op.clone()).await;
            load::closed_loop(n, c, op).await
        }
    };
    let baseline_name = match topology {
        Topology::Distributed => "raw lapin+fred",
        Topology::Embedded => "redb store+mailbox in-process",
    };

    let rest = rest_series(&api, &actor, &body, n, c).await;
    api.purge(&actor).await?;
    let grpc = grpc_series(&platform, &actor, &body, n, c).await?;
    api.purge(&actor).await?;
    let open = {
        let (api, actor, body) = (api.clone(), actor.clone(), body.clone());
        load::open_loop(
            settings.rate,
            Duration::from_secs_f64(settings.rate_secs),
            move |_| {
                let (api, actor, body) = (api.clone(), actor.clone(), body.clone());
                async move { api.send(&actor, &body).await.map(drop) }
            },
        )
        .await
    };
    api.delete_actor(&actor).await?;

    let mut rows = Vec::new();
    let label = format!("c={c}, {n} msgs of {} B", settings.message_bytes);
    rows.push(
        rate_row(
            format!("ingest REST {topo} msg/s ({label})"),
            &rest,
            &baseline,
        )
        .judged(Verdict::check(
            rest.rate() >= 5000.0 && rest.rate() >= 0.5 * baseline.rate(),
            ">= 5000/s and >= 0.5x",
        )),
    );
    rows.extend(latency_rows(
        &format!("ingest REST {topo}"),
        &rest,
        &baseline,
    ));
    rows.push(rate_row(
        format!("ingest gRPC {topo} msg/s ({label})"),
        &grpc,
        &baseline,
    ));
    rows.extend(latency_rows(
        &format!("ingest gRPC {topo}"),
        &grpc,
        &baseline,
    ));
    rows.push(Row::figure(
        format!("baseline used for {topo}"),
        baseline_name,
    ));
    rows.push(
        Row::figure(
            format!(
                "ingest REST {topo} p99 at {} msg/s offered ({} s open loop)",
                settings.rate, settings.rate_secs
            ),
            format!(
                "{} (p50 {}, {} ok, {:.0}/s achieved){}",
                ms(open.p99()),
                ms(open.p50()),
                open.count(),
                open.rate(),
                open.errors_note()
            ),
        )
        .judged(Verdict::check(
            open.errors == 0 && open.p99() < Duration::from_millis(20),
            "< 20 ms",
        )),
    );
    Ok(rows)
}

/// A JSON message of about `bytes` bytes.
fn message_body(bytes: usize) -> String {
    let pad = bytes.saturating_sub(10).max(1);
    format!("{{\"pad\":\"{}\"}}", "x".repeat(pad))
}

/// The execution record and mailbox message the platform writes for one message, encoded as
/// it encodes them, so the baseline moves the same bytes.
fn wire_records(actor: &str, body: &str) -> (Bytes, Bytes) {
    let now = "2025-01-01T00:00:00.000Z".to_string();
    let execution = pb::Execution {
        id: "0123456789ab".into(),
        actor_id: actor.into(),
        status: pb::ExecutionStatus::Submitted.into(),
        message_received_time: now.clone(),
        ..Default::default()
    };
    let message = pb::MailboxMessage {
        execution_id: execution.id.clone(),
        actor_id: actor.into(),
        body: body.as_bytes().to_vec(),
        content_type: "application/json".into(),
        sender: "anonymous".into(),
        received_time: now,
        // Other fields (e.g. trace context) stay empty, as without tracing.
        ..Default::default()
    };
    (
        Bytes::from(execution.encode_to_vec()),
        Bytes::from(message.encode_to_vec()),
    )
}

async fn rest_series(api: &Api, actor: &str, body: &str, n: usize, c: usize) -> Series {
    let op = {
        let (api, actor, body) = (api.clone(), actor.to_string(), body.to_string());
        move |_| {
            let (api, actor, body) = (api.clone(), actor.clone(), body.clone());
            async move { api.send(&actor, &body).await.map(drop) }
        }
    };
    load::closed_loop(WARMUP, c, op.clone()).await;
    load::closed_loop(n, c, op).await
}

async fn grpc_series(
    platform: &Platform,
    actor: &str,
    body: &str,
    n: usize,
    c: usize,
) -> Result<Series> {
    let client = MessagesClient::connect(format!("http://{}", platform.messages_addr)).await?;
    let request = Arc::new(pb::SendMessageRequest {
        actor_id: actor.to_string(),
        body: body.as_bytes().to_vec(),
        content_type: "application/json".into(),
        ..Default::default()
    });
    let op = move |_| {
        let (mut client, request) = (client.clone(), request.clone());
        async move {
            client.send_message((*request).clone()).await?;
            Ok(())
        }
    };
    load::closed_loop(WARMUP, c, op.clone()).await;
    Ok(load::closed_loop(n, c, op).await)
}

fn rate_row(name: String, platform: &Series, baseline: &Series) -> Row {
    Row::compared(
        name,
        format!("{:.0}/s{}", platform.rate(), platform.errors_note()),
        format!("{:.0}/s{}", baseline.rate(), baseline.errors_note()),
        platform.rate() / baseline.rate().max(1e-9),
    )
}

fn latency_rows(prefix: &str, platform: &Series, baseline: &Series) -> [Row; 2] {
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    [
        Row::compared(
            format!("{prefix} p50 latency"),
            ms(platform.p50()),
            ms(baseline.p50()),
            ratio(platform.p50(), baseline.p50()),
        ),
        Row::compared(
            format!("{prefix} p99 latency"),
            ms(platform.p99()),
            ms(baseline.p99()),
            ratio(platform.p99(), baseline.p99()),
        ),
    ]
}
