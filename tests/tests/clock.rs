//! One clock: heartbeats are stamped and judged by the store's time (Redis `TIME`), so a host
//! whose clock runs a minute ahead (libfaketime on the health checks' process) neither takes
//! live workers for dead nor has their runs taken over: the run finishes once, where it
//! started, and the worker stays.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform,
    steps::{finished, register, running, send, workers},
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);
/// Debian's libfaketime, multi-threaded flavour (tests/services.sh installs `faketime`).
const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_a_skewed_clock_does_not_kill_live_workers() {
    assert!(
        std::path::Path::new(FAKETIME).exists(),
        "{FAKETIME} is missing: apt-get install faketime (tests/services.sh does)"
    );
    let mut platform = Platform::start(BackendKind::Distributed).await;
    platform.kill_component("health");
    // Wall clock a minute ahead, timers untouched: every heartbeat looks 60 s old to a host
    // that reads its own clock, six times the 10 s worker timeout.
    platform.start_component_with(
        "health",
        &[
            ("LD_PRELOAD", FAKETIME),
            ("FAKETIME", "+60s"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let api = platform.api.clone();
    let actor = register(&api, json!({"image": "abaco/sample-sleep"})).await;
    let worker = {
        let execution = send(&api, &actor, "", "text/plain", b"1".to_vec()).await;
        let record = finished(&api, &actor, &execution, LIMIT).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
        record["workerId"].as_str().unwrap().to_string()
    };
    let execution = send(&api, &actor, "", "text/plain", b"8".to_vec()).await;
    running(&api, &actor, &execution, LIMIT).await;
    // Several health passes (every 2 s) go by while it runs.
    let record = finished(&api, &actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(record["workerId"], worker.as_str(), "{record}");
    assert!(
        platform.component_pid("health").is_some(),
        "the skewed health checks run"
    );
    let listed = workers(&api, &actor).await;
    assert!(
        listed.iter().any(|w| w["id"] == worker.as_str()),
        "the live worker was removed: {listed:?}"
    );
    let executions = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    assert_eq!(
        executions.result()["executions"].as_array().unwrap().len(),
        2,
        "{}",
        executions.text
    );
}
