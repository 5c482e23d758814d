//! Execution overhead: a message run by the printing sample actor, against a plain Docker
//! cycle of the same image; then throughput with N workers against N concurrent cycles.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    Settings,
    api::Api,
    baseline::DockerCycle,
    load,
    platform::{Platform, Topology},
    report::{Row, Verdict},
    stats::{Series, ms},
};

/// The printing sample actor.
pub const IMAGE: &str = "abaco/sample-echo";

/// Longest one run may take before the benchmark gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Measures one topology; its rows.
pub async fn run(settings: &Settings, topology: Topology) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, topology).await?;
    let api = platform.api.clone();
    let docker = DockerCycle::connect(IMAGE, &platform.namespace).await?;
    let topo = topology.name();
    let mut rows = Vec::new();

    // Latency: one message at a time, alternating with raw cycles so that load from
    // elsewhere on the machine hits both alike.
    let actor = api
        .create_actor(&json!({"image": IMAGE, "name": "bench-exec"}))
        .await?;
    api.wait_actor(&actor, &["READY"], Duration::from_secs(60))
        .await?;
    for _ in 0..2 {
        run_once(&api, &actor).await?;
        docker.run("warm-up").await?;
    }
    let (mut platform_samples, mut raw_samples) = (Vec::new(), Vec::new());
    let (mut phases, mut steps) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for i in 0..settings.exec_runs {
        let (latency, phase) = run_once(&api, &actor).await?;
        platform_samples.push(latency);
        phases.push(phase);
        let t = Instant::now();
        steps.push(docker.run(&format!("raw {i}")).await?);
        raw_samples.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    api.delete_actor(&actor).await?;
    let platform_runs = Series::new(platform_samples, elapsed, 0);
    let raw_runs = Series::new(raw_samples, elapsed, 0);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let p50_ratio = ratio(platform_runs.p50(), raw_runs.p50());
    rows.push(
        Row::compared(
            format!(
                "exec {topo} accepted->COMPLETE p50 ({} runs)",
                settings.exec_runs
            ),
            ms(platform_runs.p50()),
            format!("{} (raw bollard cycle)", ms(raw_runs.p50())),
            p50_ratio,
        )
        .judged(Verdict::check(p50_ratio <= 0.6, "<= 0.6x")),
    );
    rows.push(Row::compared(
        format!("exec {topo} accepted->COMPLETE p99"),
        ms(platform_runs.p99()),
        ms(raw_runs.p99()),
        ratio(platform_runs.p99(), raw_runs.p99()),
    ));
    let median = |pick: &dyn Fn(usize) -> Duration, n: usize| {
        Series::new((0..n).map(pick).collect(), elapsed, 0).p50()
    };
    let n = phases.len();
    rows.push(Row::compared(
        format!("exec {topo} where the time goes (p50 of each step)"),
        format!(
            "received->container started {}, container ran {}, exited->COMPLETE seen {}",
            ms(median(&|i| phases[i].to_start, n)),
            ms(median(&|i| phases[i].running, n)),
            ms(median(&|i| phases[i].to_complete, n)),
        ),
        format!(
            "create {}, start {}, wait {}, logs {}, remove {}",
            ms(median(&|i| steps[i].create, n)),
            ms(median(&|i| steps[i].start, n)),
            ms(median(&|i| steps[i].wait, n)),
            ms(median(&|i| steps[i].logs, n)),
            ms(median(&|i| steps[i].remove, n)),
        ),
        median(&|i| phases[i].total(), n).as_secs_f64()
            / median(&|i| steps[i].total(), n).as_secs_f64().max(1e-9),
    ));

    // Throughput: N workers against N concurrent raw cycles, taking turns round by round so
    // that a slow spell of the Docker engine weighs on both alike.
    let (n, total) = (settings.workers, settings.exec_messages);
    let rounds = settings.rounds.clamp(1, total.max(1));
    let per_round = total.div_ceil(rounds);
    let actor = throughput_actor(&api, n).await?;
    let (mut raw, mut platform_time, mut sent) = (Series::default(), Duration::ZERO, 0);
    for _ in 0..rounds {
        let docker = docker.clone();
        let round = load::closed_loop(per_round, n, move |i| {
            let docker = docker.clone();
            async move { docker.run(&format!("raw {i}")).await.map(drop) }
        })
        .await;
        raw = raw.merge(round);
        platform_time += batch(&api, &actor, sent, per_round).await?;
        sent += per_round;
    }
    api.delete_actor(&actor)
        .await
        .context("deleting the throughput actor")?;
    let platform_rate = sent as f64 / platform_time.as_secs_f64().max(1e-9);
    let raw_rate = raw.rate();
    rows.push(
        Row::compared(
            format!(
                "exec {topo} executions/s, {n} workers vs {n} raw cycles ({rounds} rounds of {per_round})"
            ),
            format!("{platform_rate:.2}/s"),
            format!("{raw_rate:.2}/s{}", raw.errors_note()),
            platform_rate / raw_rate.max(1e-9),
        )
        .judged(Verdict::check(platform_rate >= 0.9 * raw_rate, ">= 0.9x")),
    );
    drop(platform);
    Ok(rows)
}

/// Where one execution's time went, from its record's times (milliseconds) and the moment
/// COMPLETE was seen.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Phases {
    /// Message received to the container's start (Docker's `StartedAt`).
    to_start: Duration,
    /// The container's own run (`StartedAt` to `FinishedAt`).
    running: Duration,
    /// Container finished to COMPLETE visible through the API.
    to_complete: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.to_start + self.running + self.to_complete
    }

    fn of(record: &Value, seen: DateTime<Utc>) -> Result<Self> {
        let time = |field: &str| -> Result<DateTime<Utc>> {
            let text = record[field].as_str().unwrap_or_default();
            Ok(DateTime::parse_from_rfc3339(text)
                .with_context(|| format!("execution field {field} = {text:?}"))?
                .with_timezone(&Utc))
        };
        let span = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).to_std().unwrap_or_default();
        let (received, start, finish) = (
            time("messageReceivedTime")?,
            time("startTime")?,
            time("finishTime")?,
        );
        Ok(Self {
            to_start: span(received, start),
            running: span(start, finish),
            to_complete: span(finish, seen),
        })
    }
}

/// Sends one message and waits until its execution is COMPLETE; the time from the answer
/// (message accepted) to COMPLETE being visible, and where it went.
pub(crate) async fn run_once(api: &Api, actor: &str) -> Result<(Duration, Phases)> {
    let execution = api.send(actor, "{\"bench\": true}").await?;
    let accepted = Instant::now();
    let status = api
        .wait_execution(actor, &execution, &["SUBMITTED", "RUNNING"], RUN_LIMIT)
        .await?;
    let latency = accepted.elapsed();
    let seen = Utc::now();
    if status != "COMPLETE" {
        bail!("execution {execution} ended {status}");
    }
    let record = api.execution(actor, &execution).await?;
    Ok((latency, Phases::of(&record, seen)?))
}

/// An actor with exactly `workers` workers, all READY.
async fn throughput_actor(api: &Api, workers: usize) -> Result<String> {
    let actor = api
        .create_actor(&json!({
            "image": IMAGE,
            "name": "bench-throughput",
            "minWorkers": workers,
            "maxWorkers": workers,
        }))
        .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.ready_workers(&actor).await? < workers {
        if Instant::now() > deadline {
            bail!("{workers} workers did not get READY in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(actor)
}

/// Sends `count` messages at once to `actor`, which has run `before` before, and waits for
/// all of them: the time from the first send to the last COMPLETE seen.
async fn batch(api: &Api, actor: &str, before: usize, count: usize) -> Result<Duration> {
    let started = Instant::now();
    for i in 0..count {
        api.send(actor, &format!("{{\"n\": {}}}", before + i))
            .await?;
    }
    let deadline = started + RUN_LIMIT * u32::try_from(count).unwrap_or(u32::MAX);
    loop {
        let statuses = api.execution_statuses(actor).await?;
        let done = statuses
            .iter()
            .filter(|s| *s == "COMPLETE" || *s == "ERROR")
            .count();
        if done >= before + count {
            let errors = statuses.iter().filter(|s| *s == "ERROR").count();
            if errors > 0 {
                bail!("{errors} executions ended ERROR");
            }
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} executions done",
                done.saturating_sub(before)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
