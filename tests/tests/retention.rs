//! Retention, on both backends: with `execution_retention_secs` set, a finished execution, its
//! logs and its results are removed by the health checks' sweep once they are that old, and
//! an execution still running is left alone.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{eventually, finished, register, running, send},
};
use serde_json::json;

async fn start(kind: BackendKind) -> Platform {
    Platform::start_with_settings(
        kind,
        &[
            ("ABACO_EXECUTION_RETENTION_SECS", "1"),
            ("ABACO_HEALTH_SWEEP_SECS", "1"),
        ],
    )
    .await
}

on_both_backends!(start = start; finished_executions_go_after_their_retention);

const LIMIT: Duration = Duration::from_secs(60);

async fn finished_executions_go_after_their_retention(platform: Platform) {
    let api = &platform.api;
    let echo = register(api, json!({"image": "abaco/sample-echo"})).await;
    let sleeper = register(api, json!({"image": "abaco/sample-sleep"})).await;
    let done = send(api, &echo, "", "text/plain", b"short-lived".to_vec()).await;
    let long = send(api, &sleeper, "", "text/plain", b"forever".to_vec()).await;
    assert_eq!(
        finished(api, &echo, &done, LIMIT).await["status"],
        "COMPLETE"
    );
    running(api, &sleeper, &long, LIMIT).await;

    eventually(LIMIT, "the finished execution to be removed", || async {
        let answer = api
            .get(&format!("/actors/{echo}/executions/{done}"))
            .await
            .ok()?;
        (answer.status == 404).then_some(())
    })
    .await;
    api.get(&format!("/actors/{echo}/executions/{done}/logs"))
        .await
        .unwrap()
        .error(404, "not found");
    let listed = api
        .get(&format!("/actors/{echo}/executions"))
        .await
        .unwrap();
    assert_eq!(listed.ok()["executions"], json!([]));
    // Several sweeps later, the running one is still there.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = api
        .get(&format!("/actors/{sleeper}/executions/{long}"))
        .await
        .unwrap();
    assert_eq!(still.ok()["status"], "RUNNING");
}
