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
use futures::future::BoxFuture;
use prost::Message as _;
use serde_json::json;

use crate::{
    Settings,
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
    let mut cleanups = Vec::new();

    // The baseline and the platform's two fronts take turns, round after round, so a burst
    // of outside load (or a slow start) weighs on all three alike and the ratios hold.
    let baseline_op: Op = match topology {
        Topology::Distributed | Topology::DistributedInGateway => {
            let raw = RawQueueStore::connect(
                &settings.env.amqp_url,
                &settings.env.redis_url,
                &platform.namespace,
            )
            .await?;
            cleanups.push(Cleanup::Raw(raw.clone()));
            let (record, message) = (record.clone(), message.clone());
            Arc::new(move |_| {
                let (raw, record, message) = (raw.clone(), record.clone(), message.clone());
                Box::pin(async move { raw.accept(record, &message).await })
            })
        }
        Topology::Embedded => {
            let dir = tempfile::Builder::new().prefix("abaco-bench-").tempdir()?;
            let parts = EmbeddedParts::open(dir.path(), "baseline").await?;
            cleanups.push(Cleanup::Dir(dir));
            let (record, message) = (record.clone(), message.clone());
            Arc::new(move |_| {
                let (parts, record, message) = (parts.clone(), record.clone(), message.clone());
                Box::pin(async move { parts.accept("baseline", record, message).await })
            })
        }
    };
    let baseline_name = match topology {
        Topology::Distributed | Topology::DistributedInGateway => "raw lapin+fred",
        Topology::Embedded => "redb store+mailbox in-process",
    };
    let rest_op: Op = {
        let (api, actor, body) = (api.clone(), actor.clone(), body.clone());
        Arc::new(move |_| {
            let (api, actor, body) = (api.clone(), actor.clone(), body.clone());
            Box::pin(async move { api.send(&actor, &body).await.map(drop) })
        })
    };
    let grpc_op = grpc_op(&platform, &actor, &body).await?;
    // The same client and concurrency on a request no service answers: what the REST hop
    // itself costs, next to a send.
    let floor_op: Op = {
        let api = api.clone();
        Arc::new(move |_| {
            let api = api.clone();
            Box::pin(async move { api.not_found().await })
        })
    };

    let rounds = settings.rounds.max(1);
    let per_round = n.div_ceil(rounds);
    let (mut baseline, mut rest, mut grpc, mut floor) = (
        Series::default(),
        Series::default(),
        Series::default(),
        Series::default(),
    );
    for op in [&baseline_op, &rest_op, &grpc_op, &floor_op] {
        measured(op, WARMUP, c).await;
    }
    api.purge(&actor).await?;
    // Each purge ends the executions of a round's messages: what a user purging a backlog
    // of that size waits for.
    let mut purges = Vec::new();
    for _ in 0..rounds {
        baseline = baseline.merge(measured(&baseline_op, per_round, c).await);
        for cleanup in &cleanups {
            cleanup.between_rounds().await?;
        }
        rest = rest.merge(measured(&rest_op, per_round, c).await);
        purges.push(timed_purge(&api, &actor).await?);
        grpc = grpc.merge(measured(&grpc_op, per_round, c).await);
        purges.push(timed_purge(&api, &actor).await?);
        floor = floor.merge(measured(&floor_op, per_round, c).await);
    }
    for cleanup in cleanups {
        cleanup.run().await?;
    }

    let open = load::open_loop(
        settings.rate,
        Duration::from_secs_f64(settings.rate_secs),
        move |n| rest_op(n),
    )
    .await;
    api.delete_actor(&actor).await?;

    let mut rows = Vec::new();
    let label = format!(
        "c={c}, {rounds} rounds of {per_round} msgs of {} B",
        settings.message_bytes
    );
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
        format!("REST hop alone, {topo}: GET of an unknown path (404), c={c}"),
        format!(
            "{:.0}/s, p50 {}, p99 {}{}",
            floor.rate(),
            ms(floor.p50()),
            ms(floor.p99()),
            floor.errors_note()
        ),
    ));
    rows.push(Row::figure(
        format!("baseline used for {topo}"),
        baseline_name,
    ));
    let slowest = purges.iter().max().copied().unwrap_or_default();
    let mean = purges.iter().sum::<Duration>() / u32::try_from(purges.len().max(1))?;
    rows.push(Row::figure(
        format!("mailbox purge of {per_round} queued messages, {topo} (their executions ended)"),
        format!(
            "mean {}, slowest {} ({} purges)",
            ms(mean),
            ms(slowest),
            purges.len()
        ),
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

/// How long `DELETE /actors/{actor}/messages` took.
async fn timed_purge(api: &crate::api::Api, actor: &str) -> Result<Duration> {
    let started = std::time::Instant::now();
    api.purge(actor).await?;
    Ok(started.elapsed())
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

/// One operation of a measured series: the argument is its number in the series.
type Op = Arc<dyn Fn(usize) -> BoxFuture<'static, Result<()>> + Send + Sync>;

async fn measured(op: &Op, total: usize, concurrency: usize) -> Series {
    let op = op.clone();
    load::closed_loop(total, concurrency, move |n| op(n)).await
}

/// What the baseline leaves behind, removed once every round has run.
enum Cleanup {
    Raw(RawQueueStore),
    Dir(tempfile::TempDir),
}

impl Cleanup {
    /// Empties the raw queue, as the platform's mailbox is purged between its series.
    async fn between_rounds(&self) -> Result<()> {
        match self {
            Self::Raw(raw) => raw.purge().await,
            Self::Dir(_) => Ok(()),
        }
    }

    async fn run(self) -> Result<()> {
        match self {
            Self::Raw(raw) => raw.cleanup().await,
            Self::Dir(dir) => Ok(dir.close()?),
        }
    }
}

async fn grpc_op(platform: &Platform, actor: &str, body: &str) -> Result<Op> {
    let client = MessagesClient::connect(format!("http://{}", platform.messages_addr)).await?;
    let request = Arc::new(pb::SendMessageRequest {
        actor_id: actor.to_string(),
        body: body.as_bytes().to_vec(),
        content_type: "application/json".into(),
        ..Default::default()
    });
    Ok(Arc::new(move |_| {
        let (mut client, request) = (client.clone(), request.clone());
        Box::pin(async move {
            client.send_message((*request).clone()).await?;
            Ok(())
        })
    }))
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
