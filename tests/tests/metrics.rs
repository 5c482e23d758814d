//! Prometheus metrics, on both backends: every component serves `/metrics` at its
//! `metrics_addr` in a form `promtool check metrics` accepts, and the values that must move
//! when messages are sent and run do move.

#![allow(clippy::unwrap_used)]

use std::{io::Write, process::Stdio, time::Duration};

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{eventually, finished, register, send},
};
use serde_json::json;

async fn start(kind: BackendKind) -> Platform {
    Platform::start_with_metrics(kind).await
}

on_both_backends!(start = start; metrics_move_with_messages_and_pass_promtool);

const LIMIT: Duration = Duration::from_secs(60);

/// What `component` serves at `/metrics`.
async fn scrape(platform: &Platform, component: &str) -> String {
    let addr = platform.metrics_addr(component).unwrap();
    let response = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(exposition: &str, name: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, sample) = line.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name && labels.iter().all(|label| series.contains(label)))
                .then(|| sample.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

/// Whether promtool accepts `exposition`; its complaints otherwise.
fn promtool_check(exposition: &str) -> Result<(), String> {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; tests/services.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

async fn metrics_move_with_messages_and_pass_promtool(platform: Platform) {
    let embedded = platform.kind == BackendKind::Embedded;
    // Which component records what: everything is `up` when embedded.
    let component = |distributed: &'static str| if embedded { "up" } else { distributed };
    let api = &platform.api;
    let accepted_before = value(
        &scrape(&platform, component("messages")).await,
        "abaco_messages_accepted_total",
        &[],
    );

    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let mut executions = Vec::new();
    for i in 0..3 {
        executions.push(send(api, &actor, "", "text/plain", format!("m{i}").into_bytes()).await);
    }
    for execution in &executions {
        let record = finished(api, &actor, execution, LIMIT).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
    }

    let gateway = scrape(&platform, component("gateway")).await;
    let sends = value(
        &gateway,
        "abaco_http_requests_total",
        &[
            "method=\"POST\"",
            "route=\"/actors/{actor_id}/messages\"",
            "status=\"200\"",
        ],
    );
    assert!(sends >= 3.0, "{sends} sends counted:\n{gateway}");
    assert!(
        value(
            &gateway,
            "abaco_http_request_duration_seconds_count",
            &["method=\"POST\""]
        ) >= 4.0,
        "{gateway}"
    );
    assert!(
        gateway
            .lines()
            .filter(|line| line.starts_with("abaco_http"))
            .all(|line| !line.contains(&actor)),
        "routes are labelled by pattern, never by id:\n{gateway}"
    );

    let messages = scrape(&platform, component("messages")).await;
    let accepted = value(&messages, "abaco_messages_accepted_total", &[]);
    assert!(
        accepted - accepted_before >= 3.0,
        "{accepted_before} -> {accepted}"
    );

    // The health pass sees the actor's worker and reads its mailbox.
    eventually(LIMIT, "the workers and mailbox gauges", || async {
        let health = scrape(&platform, component("health")).await;
        let ready = value(&health, "abaco_workers", &["status=\"READY\""]);
        let depth_shown = health
            .lines()
            .any(|line| line.starts_with("abaco_mailbox_depth{") && line.contains(&actor));
        (ready >= 1.0 && depth_shown).then_some(())
    })
    .await;

    let spawner = scrape(&platform, component("spawner")).await;
    assert!(
        value(&spawner, "abaco_spawner_capacity", &[]) >= 1.0,
        "{spawner}"
    );

    // Runs are counted where they happen: by `up`, which hosts its workers, or relayed by the
    // worker processes to their spawner.
    eventually(LIMIT, "the runs to be counted", || async {
        let runs = scrape(&platform, component("spawner")).await;
        let complete = value(
            &runs,
            "abaco_executions_finished_total",
            &["status=\"COMPLETE\""],
        );
        (complete >= 3.0
            && value(&runs, "abaco_run_duration_seconds_count", &[]) >= 3.0
            && value(&runs, "abaco_container_start_seconds_count", &[]) >= 3.0)
            .then_some(())
    })
    .await;
    if !embedded {
        // The gateway's calls reach the registration service over gRPC, counted by method.
        let registration = scrape(&platform, "registration").await;
        let created = value(
            &registration,
            "abaco_grpc_requests_total",
            &[
                "method=\"/abaco.v1.Registration/CreateActor\"",
                "code=\"Ok\"",
            ],
        );
        assert!(created >= 1.0, "{registration}");
    }

    let components: &[&str] = if embedded {
        &["up"]
    } else {
        &[
            "registration",
            "messages",
            "admin",
            "spawner",
            "gateway",
            "health",
        ]
    };
    for component in components {
        let exposition = scrape(&platform, component).await;
        assert!(
            exposition.contains(&format!("component=\"{component}\"")),
            "{component}:\n{exposition}"
        );
        if let Err(complaints) = promtool_check(&exposition) {
            panic!("promtool on {component}: {complaints}\n{exposition}");
        }
    }
}
