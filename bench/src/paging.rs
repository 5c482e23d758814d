//! Executions at scale: one actor with many executions written straight into the distributed
//! store (with their index entries, as the intake writes them), then the first page of its
//! executions through REST against the floor of reading the same page from the store in the
//! same process, a sweep pass with nothing due, the Redis memory each execution takes, and
//! that memory given back once retention has removed them all.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use abaco::{
    execution_index, fleet::NoFleet, records::child_key, settings::Settings as PlatformSettings,
    store::Table,
};
use abaco_health::{HealthChecker, HealthSettings};
use abaco_mailbox::FileMailboxes;
use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};

use crate::{
    Settings,
    report::{Row, Verdict},
    search::{actor_with_store, synthetic},
    stats::{Series, ms},
};

/// The target for the first page of a million executions.
const FIRST_PAGE_TARGET: Duration = Duration::from_millis(50);

/// Page sizes measured: a small page, and the default page of a listing without `limit`.
const PAGES: [(&str, Option<usize>); 2] = [("limit=100", Some(100)), ("default page", None)];

/// Measures paging, a sweep and memory over `settings.paging_records` executions.
pub async fn run(settings: &Settings) -> Result<Vec<Row>> {
    let (platform, actor, records) = actor_with_store(settings, "bench-paging").await?;
    let api = &platform.api;
    // A new store has nothing to index: marked so, the sweeps below never read everything.
    records.index_executions_once().await?;
    let total = settings.paging_records;
    let memory_before = used_memory(&settings.env.redis_url)?;
    let started = Instant::now();
    futures::stream::iter(0..total)
        .map(|n| {
            let records = records.clone();
            let actor = actor.clone();
            async move {
                let execution = synthetic(&actor, n);
                records
                    .insert_guarded::<_, abaco::pb::Actor>(
                        Table::Executions,
                        &child_key(&actor, &execution.id),
                        &execution,
                        (Table::Actors, &actor),
                        &execution_index::entries(&execution),
                    )
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await?;
    let loaded = started.elapsed();
    let memory_loaded = used_memory(&settings.env.redis_url)?;
    eprintln!("paging: {total} executions written in {loaded:.1?}");
    let per_execution = memory_loaded.saturating_sub(memory_before) as f64 / total.max(1) as f64;
    let mut rows = vec![
        Row::figure(
            format!("paging: {total} executions written with their indexes"),
            format!("{:.0}/s", total as f64 / loaded.as_secs_f64().max(1e-9)),
        ),
        Row::figure(
            "paging: Redis memory per finished execution (its record and order entry)",
            format!("{per_execution:.0} bytes"),
        ),
    ];

    let runs = settings.paging_runs.max(1);
    for (name, limit) in PAGES {
        let shown = limit.unwrap_or(PlatformSettings::default().list_page_size);
        let query = limit
            .map(|l| format!("?cursor=&limit={l}"))
            .unwrap_or_default();
        let (mut platform_samples, mut floor_samples) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let page = records.executions_page(&actor, None, 0, shown).await?;
            floor_samples.push(t.elapsed());
            anyhow::ensure!(
                page.executions.len() == shown,
                "the floor read a short page"
            );
            let t = Instant::now();
            let found = api
                .get(&format!("/actors/{actor}/executions{query}"))
                .await?;
            platform_samples.push(t.elapsed());
            let listed = found["executions"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(listed == shown, "REST listed {listed} of a page of {shown}");
            anyhow::ensure!(
                found["totalExecutions"].as_u64() == Some(total as u64),
                "REST counted {:?} executions",
                found["totalExecutions"]
            );
        }
        let platform_p50 = Series::new(platform_samples, Duration::ZERO, 0).p50();
        let floor_p50 = Series::new(floor_samples, Duration::ZERO, 0).p50();
        rows.push(
            Row::compared(
                format!("paging: first page of {total} executions ({name}: {shown}), REST p50"),
                ms(platform_p50),
                ms(floor_p50),
                platform_p50.as_secs_f64() / floor_p50.as_secs_f64().max(1e-9),
            )
            .judged(Verdict::check(
                platform_p50 < FIRST_PAGE_TARGET,
                format!("< {} ms", FIRST_PAGE_TARGET.as_millis()),
            )),
        );
    }

    // A sweep with nothing due (a retention longer than the executions' age) reads nothing.
    let dir = tempfile::Builder::new().prefix("abaco-bench-").tempdir()?;
    let mailboxes = Arc::new(FileMailboxes::open(&dir.path().join("mail.redb")).await?);
    let checker = |retention: Duration| {
        HealthChecker::new(
            records.clone(),
            mailboxes.clone(),
            Arc::new(NoFleet),
            None,
            platform.namespace.clone(),
            "bench".into(),
            HealthSettings {
                retention: Some(retention),
                ..HealthSettings::default()
            },
        )
    };
    let t = Instant::now();
    let report = checker(Duration::from_secs(10 * 365 * 24 * 3600))
        .check_once(true)
        .await?;
    rows.push(Row::figure(
        format!("paging: a sweep pass over {total} executions, nothing due"),
        format!(
            "{} executions read, {}",
            report.executions_read,
            ms(t.elapsed())
        ),
    ));

    // Everything due: the sweep removes them all, and Redis gives the memory back.
    let t = Instant::now();
    let report = checker(Duration::from_secs(1)).check_once(true).await?;
    let purged = t.elapsed();
    if report.expired_executions != total {
        bail!(
            "the sweep removed {} of {total} expired executions",
            report.expired_executions
        );
    }
    let memory_after = used_memory(&settings.env.redis_url)?;
    rows.push(Row::figure(
        format!("paging: a sweep pass removing all {total} (records, logs, results, indexes)"),
        format!(
            "{:.1} s, {:.0}/s",
            purged.as_secs_f64(),
            total as f64 / purged.as_secs_f64().max(1e-9)
        ),
    ));
    rows.push(Row::figure(
        "paging: Redis used_memory before the load / loaded / after expiry",
        format!(
            "{} / {} / {} MiB",
            mib(memory_before),
            mib(memory_loaded),
            mib(memory_after)
        ),
    ));
    Ok(rows)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Redis's `used_memory`, read with `redis-cli` (installed with the server).
fn used_memory(redis_url: &str) -> Result<u64> {
    let output = Command::new("redis-cli")
        .args(["-u", redis_url, "info", "memory"])
        .output()
        .context("running redis-cli")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .with_context(|| format!("no used_memory in redis-cli's answer: {text}"))
}
