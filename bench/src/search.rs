//! Search over many executions: records written straight into the distributed store, then
//! searched through REST, against the floor any search pays: reading the same records from
//! the store in the same process.

use std::time::{Duration, Instant};

use abaco::{
    pb,
    records::{Records, child_key},
    settings::{Backend, Settings as PlatformSettings},
    store::Table,
};
use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::{
    Settings,
    exec::IMAGE,
    platform::{Platform, Topology},
    report::Row,
    stats::{Series, ms},
};

/// Searches measured: what each asks, and its name in the table.
const QUERIES: [(&str, &str); 4] = [
    ("one field, 10 shown", "executions?exitCode=3&limit=10"),
    (
        "range, deep page",
        "executions?runtime.between=1000,2000&skip=5000&limit=100",
    ),
    (
        "time and status",
        "executions?status=ERROR&messageReceivedTime.gte=2026-01-01T12&limit=100",
    ),
    ("words", "executions?search=error%20oom&limit=10"),
];

/// Measures search over `settings.search_records` executions on the distributed backend.
pub async fn run(settings: &Settings) -> Result<Vec<Row>> {
    let (platform, actor, records) = actor_with_store(settings, "bench-search").await?;
    let api = &platform.api;
    let total = settings.search_records;
    let started = Instant::now();
    futures::stream::iter(0..total)
        .map(|n| {
            let records = records.clone();
            let actor = actor.clone();
            async move {
                let execution = synthetic(&actor, n);
                records
                    .insert(
                        Table::Executions,
                        &child_key(&actor, &execution.id),
                        &execution,
                    )
                    .await
            }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "search: {total} executions written in {:.1?}",
        started.elapsed()
    );

    let runs = settings.search_runs.max(1);
    let mut floor = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let read: Vec<pb::Execution> = records
            .list(Table::Executions, &format!("{actor}/"))
            .await?;
        floor.push(t.elapsed());
        anyhow::ensure!(read.len() == total, "read {} of {total}", read.len());
    }
    let floor = Series::new(floor, Duration::ZERO, 0).p50();
    let mut rows = vec![Row::figure(
        format!("search: read all {total} executions from Redis (the floor), p50"),
        ms(floor),
    )];
    for (name, query) in QUERIES {
        let mut samples = Vec::new();
        let mut matched = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let found = api.get(&format!("/actors/{actor}/{query}")).await?;
            samples.push(t.elapsed());
            matched = found["_metadata"]["totalCount"].as_u64().unwrap_or(0);
        }
        let p50 = Series::new(samples, Duration::ZERO, 0).p50();
        rows.push(Row::compared(
            format!("search over {total} executions: {name} ({matched} matched), REST p50"),
            ms(p50),
            ms(floor),
            p50.as_secs_f64() / floor.as_secs_f64().max(1e-9),
        ));
    }
    Ok(rows)
}

/// A distributed platform with one actor (no workers) named `name`, and the platform's store
/// opened in this process, for writing records straight into it.
pub(crate) async fn actor_with_store(
    settings: &Settings,
    name: &str,
) -> Result<(Platform, String, Records)> {
    let platform = Platform::start(&settings.env, Topology::Distributed).await?;
    let actor = platform
        .api
        .create_actor(&json!({"image": IMAGE, "name": name, "minWorkers": 0}))
        .await?;
    let store = abaco_store::open(&PlatformSettings {
        backend: Backend::Distributed,
        redis_url: settings.env.redis_url.clone(),
        namespace: platform.namespace.clone(),
        ..PlatformSettings::default()
    })
    .await
    .context("opening the platform's store")?;
    Ok((platform, actor, Records::new(store)))
}

/// The `n`th made-up execution: statuses, exit codes, run times and times spread out.
pub(crate) fn synthetic(actor: &str, n: usize) -> pb::Execution {
    let error = n.is_multiple_of(10);
    let at = chrono::DateTime::from_timestamp(1_767_225_600 + (n as i64) * 2, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    pb::Execution {
        id: format!("{n:013}"),
        actor_id: actor.to_string(),
        worker_id: "0bench0worker".into(),
        executor: "anonymous".into(),
        status: if error {
            pb::ExecutionStatus::Error
        } else {
            pb::ExecutionStatus::Complete
        }
        .into(),
        message_received_time: at.clone(),
        start_time: at.clone(),
        finish_time: at,
        runtime: (n % 5000) as u64,
        cpu: (n % 977) as u64 * 1_000_000,
        io: (n % 313) as u64,
        exit_code: Some((n % 7) as i64),
        final_state: format!(
            r#"{{"Status":"exited","ExitCode":{},"OOMKilled":{error}}}"#,
            n % 7
        ),
        status_message: if error && n.is_multiple_of(20) {
            "ran out of memory: oom".into()
        } else {
            String::new()
        },
        container_id: String::new(),
        queued: true,
        ..Default::default()
    }
}
