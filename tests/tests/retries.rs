//! `maxRetries` and `retryExitCodes`, on both backends through the REST API: a run exiting
//! with a chosen code is tried again, each try shown on the execution and in its logs; bad
//! values are refused naming the field.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{finished, logs_of, register, send},
};
use serde_json::json;

async fn start(kind: BackendKind) -> Platform {
    Platform::start_with_settings(kind, &[("ABACO_RETRY_BACKOFF_MS", "50")]).await
}

on_both_backends!(start = start; chosen_exit_codes_are_tried_again);

const LIMIT: Duration = Duration::from_secs(60);

async fn chosen_exit_codes_are_tried_again(platform: Platform) {
    let api = &platform.api;
    let actor = register(
        api,
        json!({"image": "abaco/sample-exit", "maxRetries": 2, "retryExitCodes": [3]}),
    )
    .await;
    let shown = api.get(&format!("/actors/{actor}")).await.unwrap();
    assert_eq!(shown.ok()["maxRetries"], 2);
    assert_eq!(shown.ok()["retryExitCodes"], json!([3]));

    let id = send(api, &actor, "", "text/plain", b"3".to_vec()).await;
    let done = finished(api, &actor, &id, LIMIT).await;
    assert_eq!(done["exitCode"], 3, "{done}");
    let attempts = done["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{done}");
    assert_eq!(attempts[0]["exitCode"], 3);
    let logs = logs_of(api, &actor, &id).await;
    assert_eq!(logs.matches("exiting with 3").count(), 3, "{logs}");

    let once = send(api, &actor, "", "text/plain", b"4".to_vec()).await;
    let done = finished(api, &actor, &once, LIMIT).await;
    assert_eq!(done["attempts"], json!([]));

    for (body, field) in [
        (
            json!({"image": "abaco/sample-exit", "maxRetries": 11}),
            "maxRetries",
        ),
        (
            json!({"image": "abaco/sample-exit", "retryExitCodes": [300]}),
            "retryExitCodes",
        ),
        (
            json!({"image": "abaco/sample-exit", "retryExitCodes": "3"}),
            "retryExitCodes",
        ),
    ] {
        api.post("/actors", &body).await.unwrap().error(400, field);
    }
}
