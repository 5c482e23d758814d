//! Deleting a worker is a graceful stop: its run in progress finishes, on that worker, and is
//! recorded once. In the distributed platform this holds even when the worker cannot answer
//! its control endpoint (it is frozen with SIGSTOP while asked): the spawner tells its child
//! by signal, never by killing it mid-run.

#![allow(clippy::unwrap_used)]

use std::{process::Command, time::Duration};

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{eventually, finished, register, running, send, workers},
};
use serde_json::json;

async fn start(kind: BackendKind) -> Platform {
    // A frozen worker misses heartbeats; the health checks must not call it dead meanwhile.
    Platform::start_with_settings(kind, &[("ABACO_WORKER_TIMEOUT_SECS", "120")]).await
}

on_both_backends!(start = start; deleting_a_worker_lets_its_run_finish);

const LIMIT: Duration = Duration::from_secs(60);

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

async fn deleting_a_worker_lets_its_run_finish(platform: Platform) {
    let api = &platform.api;
    // One worker: the test takes it to be the actor's only one.
    let actor = register(api, json!({"image": "abaco/sample-sleep", "maxWorkers": 1})).await;
    let execution = send(api, &actor, "", "text/plain", b"6".to_vec()).await;
    running(api, &actor, &execution, LIMIT).await;
    let listed = workers(api, &actor).await;
    let worker = listed[0]["id"].as_str().unwrap().to_string();

    let frozen = match platform.kind {
        BackendKind::Distributed => {
            let pids = platform.worker_pids(Some(&actor));
            assert_eq!(pids.len(), 1, "{pids:?}");
            signal(pids[0], "-STOP");
            Some(pids[0])
        }
        BackendKind::Embedded => None,
    };
    let answer = api
        .delete(&format!("/actors/{actor}/workers/{worker}"))
        .await
        .unwrap();
    if let Some(pid) = frozen {
        signal(pid, "-CONT");
    }
    assert!(answer.status < 300, "{}: {}", answer.status, answer.text);

    let record = finished(api, &actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(
        record["workerId"],
        worker.as_str(),
        "it ran to its end where it started: {record}"
    );
    let said = record["statusMessage"].as_str().unwrap_or_default();
    assert!(!said.contains("force"), "{record}");
    eventually(LIMIT, "the stopped worker to be gone", || async {
        workers(api, &actor)
            .await
            .iter()
            .all(|w| w["id"] != worker.as_str())
            .then_some(())
    })
    .await;
    let listed = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    assert_eq!(
        listed.result()["executions"].as_array().unwrap().len(),
        1,
        "{}",
        listed.text
    );
}
