//! Hot actors: a message handed to a running container, accepted -> COMPLETE, against the
//! same platform's fresh-container run of the printing sample and a raw Docker cycle of it,
//! taken in turns in one run.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::{
    Settings,
    baseline::DockerCycle,
    exec::{self, run_once},
    platform::{Platform, Topology},
    report::{Row, Verdict},
    stats::{Series, ms},
};

/// The hot sample actor.
const HOT_IMAGE: &str = "abaco/sample-hot";

/// A fresh run and a raw cycle are taken after every this many hot runs.
const BASELINE_EVERY: usize = 10;

/// Measures one topology; its rows.
pub async fn run(settings: &Settings, topology: Topology) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, topology).await?;
    let api = platform.api.clone();
    let docker = DockerCycle::connect(exec::IMAGE, &platform.namespace).await?;
    let topo = topology.name();
    let hot = api
        .create_actor(&json!({"image": HOT_IMAGE, "name": "bench-hot", "hints": ["hot"]}))
        .await?;
    let fresh = api
        .create_actor(&json!({"image": exec::IMAGE, "name": "bench-fresh"}))
        .await?;
    for actor in [&hot, &fresh] {
        api.wait_actor(actor, &["READY"], Duration::from_secs(60))
            .await?;
    }
    // The first hot message starts the container; it is not what a hot actor costs.
    for _ in 0..3 {
        run_once(&api, &hot).await?;
    }
    run_once(&api, &fresh).await?;
    docker.run("warm-up").await?;

    let (mut hot_samples, mut fresh_samples, mut raw_samples) =
        (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    for i in 0..settings.hot_runs {
        hot_samples.push(run_once(&api, &hot).await?.0);
        if i % BASELINE_EVERY == 0 {
            fresh_samples.push(run_once(&api, &fresh).await?.0);
            let t = Instant::now();
            docker.run(&format!("raw {i}")).await?;
            raw_samples.push(t.elapsed());
        }
    }
    let elapsed = started.elapsed();
    api.delete_actor(&hot).await?;
    api.delete_actor(&fresh).await?;
    let hot_runs = Series::new(hot_samples, elapsed, 0);
    let fresh_runs = Series::new(fresh_samples, elapsed, 0);
    let raw_runs = Series::new(raw_samples, elapsed, 0);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let (p50, p99) = (hot_runs.p50(), hot_runs.p99());
    Ok(vec![
        Row::compared(
            format!(
                "hot {topo} accepted->COMPLETE p50 ({} runs)",
                settings.hot_runs
            ),
            ms(p50),
            format!(
                "{} (fresh-container run), {} (raw bollard cycle)",
                ms(fresh_runs.p50()),
                ms(raw_runs.p50())
            ),
            ratio(p50, raw_runs.p50()),
        )
        .judged(Verdict::check(p50 < Duration::from_millis(10), "< 10 ms")),
        Row::compared(
            format!("hot {topo} accepted->COMPLETE p99"),
            ms(p99),
            format!(
                "{} (fresh-container run), {} (raw bollard cycle)",
                ms(fresh_runs.p99()),
                ms(raw_runs.p99())
            ),
            ratio(p99, raw_runs.p99()),
        )
        .judged(Verdict::check(p99 < Duration::from_millis(30), "< 30 ms")),
    ])
}
