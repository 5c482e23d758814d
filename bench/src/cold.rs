//! Cold start: registration to READY, and a first message to an actor without a worker to
//! RUNNING.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::{
    Settings,
    exec::IMAGE,
    platform::{Platform, Topology},
    report::{Row, Verdict},
    stats::{Series, ms},
};

/// Measures one topology; its rows.
pub async fn run(settings: &Settings, topology: Topology) -> Result<Vec<Row>> {
    let platform = Platform::start(&settings.env, topology).await?;
    let api = &platform.api;
    let topo = topology.name();
    let limit = Duration::from_secs(60);
    let (mut ready, mut running) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for _ in 0..settings.cold_runs {
        // Registration (one worker) to READY.
        let t = Instant::now();
        let actor = api
            .create_actor(&json!({"image": IMAGE, "name": "bench-cold"}))
            .await?;
        api.wait_actor(&actor, &["READY"], limit).await?;
        ready.push(t.elapsed());
        api.delete_actor(&actor).await?;

        // minWorkers 0: the first message starts the worker.
        let actor = api
            .create_actor(&json!({"image": IMAGE, "name": "bench-cold0", "minWorkers": 0}))
            .await?;
        api.wait_actor(&actor, &["READY"], limit).await?;
        let t = Instant::now();
        let execution = api.send(&actor, "{\"cold\": true}").await?;
        api.wait_execution(&actor, &execution, &["SUBMITTED"], limit)
            .await?;
        running.push(t.elapsed());
        api.delete_actor(&actor).await?;
    }
    let elapsed = started.elapsed();
    let (ready, running) = (
        Series::new(ready, elapsed, 0),
        Series::new(running, elapsed, 0),
    );
    Ok(vec![
        Row::figure(
            format!(
                "cold {topo} registration->READY p50 ({} runs)",
                settings.cold_runs
            ),
            format!("{} (max {})", ms(ready.p50()), ms(ready.quantile(1.0))),
        )
        .judged(Verdict::check(
            ready.p50() < Duration::from_millis(300),
            "< 300 ms",
        )),
        Row::figure(
            format!("cold {topo} first message (minWorkers 0)->RUNNING p50"),
            format!("{} (max {})", ms(running.p50()), ms(running.quantile(1.0))),
        ),
    ])
}
