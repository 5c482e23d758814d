//! Resident memory: an idle distributed worker process, and `abaco up` with many actors.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use crate::{
    Settings,
    exec::IMAGE,
    platform::{Platform, Topology, rss_bytes},
    report::{Row, Verdict},
};

/// The target for an idle worker: 15 MB, read as decimal megabytes (the stricter reading).
const WORKER_TARGET_BYTES: u64 = 15_000_000;

/// How long processes sit idle before their memory is read.
const SETTLE: Duration = Duration::from_secs(3);

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Both units, where the target is in MB.
fn mib_and_mb(bytes: u64) -> String {
    format!("{} = {:.1} MB", mib(bytes), bytes as f64 / 1e6)
}

/// Measures both topologies; the rows.
pub async fn run(settings: &Settings) -> Result<Vec<Row>> {
    let mut rows = idle_worker(settings).await?;
    rows.extend(embedded_with_actors(settings).await?);
    Ok(rows)
}

async fn idle_worker(settings: &Settings) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, Topology::Distributed).await?;
    let api = &platform.api;
    let actor = api
        .create_actor(&json!({"image": IMAGE, "name": "bench-memory"}))
        .await?;
    api.wait_actor(&actor, &["READY"], Duration::from_secs(60))
        .await?;
    tokio::time::sleep(SETTLE).await;
    let fresh = worker_rss(&platform)?;
    // The same worker after it has run a few executions.
    for _ in 0..3 {
        let execution = api.send(&actor, "{\"memory\": true}").await?;
        api.wait_execution(
            &actor,
            &execution,
            &["SUBMITTED", "RUNNING"],
            Duration::from_secs(60),
        )
        .await?;
    }
    tokio::time::sleep(SETTLE).await;
    let used = worker_rss(&platform)?;
    let components: Vec<String> = platform
        .pids()
        .into_iter()
        .filter_map(|(name, pid)| {
            rss_bytes(pid)
                .ok()
                .map(|rss| format!("{name} {}", mib(rss)))
        })
        .collect();
    Ok(vec![
        Row::figure(
            "memory idle distributed worker, fresh (VmRSS)",
            mib_and_mb(fresh),
        )
        .judged(Verdict::check(fresh < WORKER_TARGET_BYTES, "< 15 MB")),
        Row::figure(
            "memory idle distributed worker, after 3 runs",
            mib_and_mb(used),
        )
        .judged(Verdict::check(used < WORKER_TARGET_BYTES, "< 15 MB")),
        Row::figure("memory distributed components", components.join(", ")),
    ])
}

fn worker_rss(platform: &Platform) -> Result<u64> {
    let workers = platform.worker_pids();
    let [pid] = workers.as_slice() else {
        bail!("expected one worker process, found {}", workers.len());
    };
    rss_bytes(*pid)
}

async fn embedded_with_actors(settings: &Settings) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, Topology::Embedded).await?;
    let api = &platform.api;
    let Some(pid) = platform.pid("up") else {
        bail!("no `abaco up` process");
    };
    tokio::time::sleep(SETTLE).await;
    let empty = rss_bytes(pid)?;
    let started = Instant::now();
    let mut actors = Vec::new();
    for i in 0..settings.actors {
        actors.push(
            api.create_actor(&json!({"image": IMAGE, "name": format!("bench-mem-{i}")}))
                .await?,
        );
    }
    for actor in &actors {
        api.wait_actor(actor, &["READY"], Duration::from_secs(120))
            .await?;
    }
    let registered = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let full = rss_bytes(pid)?;
    Ok(vec![
        Row::figure("memory `abaco up`, no actors", mib(empty)),
        Row::figure(
            format!(
                "memory `abaco up`, {} actors with 1 idle worker each",
                settings.actors
            ),
            format!(
                "{} (+{:.0} KiB per actor; all READY in {:.1} s)",
                mib(full),
                full.saturating_sub(empty) as f64 / 1024.0 / settings.actors.max(1) as f64,
                registered.as_secs_f64()
            ),
        ),
    ])
}
