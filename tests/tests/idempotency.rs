//! `Idempotency-Key` on sends, on both backends: a repeat answers the first send's execution
//! (marked `Idempotent-Replayed`) and runs nothing more, concurrent repeats make one
//! execution, the key outlives a crash of the whole platform, and a bad key is refused.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    Platform, on_both_backends,
    steps::{finished, logs_of, register},
};
use serde_json::{Value, json};

on_both_backends!(
    a_repeated_send_is_one_execution,
    concurrent_repeats_make_one_execution,
    the_key_outlives_a_crash,
    bad_keys_are_refused,
);

const LIMIT: Duration = Duration::from_secs(60);

/// Sends `body` with `key`; the answer's execution id and whether it was a replay.
async fn send_keyed(platform: &Platform, actor: &str, key: &str, body: Value) -> (String, bool) {
    let answer = platform
        .api
        .with_header("idempotency-key", key)
        .post(&format!("/actors/{actor}/messages"), &body)
        .await
        .unwrap();
    let id = answer.ok()["executionId"].as_str().unwrap().to_owned();
    let replayed = answer
        .headers
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true");
    (id, replayed)
}

/// Ids of the actor's executions.
async fn executions(platform: &Platform, actor: &str) -> Vec<String> {
    let answer = platform
        .api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    answer.ok()["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_repeated_send_is_one_execution(platform: Platform) {
    let actor = register(&platform.api, json!({"image": "abaco/sample-echo"})).await;
    let (first, replayed) = send_keyed(&platform, &actor, "order-17", json!({"n": 1})).await;
    assert!(!replayed);
    let (again, replayed) = send_keyed(&platform, &actor, "order-17", json!({"n": 1})).await;
    assert!(replayed, "a repeat is marked Idempotent-Replayed");
    assert_eq!(again, first);
    let done = finished(&platform.api, &actor, &first, LIMIT).await;
    assert_eq!(done["status"], "COMPLETE", "{done}");
    // After the run, still the same execution, and no second run.
    let (late, replayed) = send_keyed(&platform, &actor, "order-17", json!({"n": 1})).await;
    assert!(replayed);
    assert_eq!(late, first);
    // The key used again for another message is refused, naming the reason.
    platform
        .api
        .with_header("idempotency-key", "order-17")
        .post(&format!("/actors/{actor}/messages"), &json!({"n": 99}))
        .await
        .unwrap()
        .error(409, "another message");
    // Another key is another message; no key, too.
    let (other, replayed) = send_keyed(&platform, &actor, "order-18", json!({"n": 2})).await;
    assert!(!replayed);
    assert_ne!(other, first);
    finished(&platform.api, &actor, &other, LIMIT).await;
    let listed = executions(&platform, &actor).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let log = logs_of(&platform.api, &actor, &first).await;
    assert!(log.contains("\"n\": 1") || log.contains("\"n\":1"), "{log}");
}

async fn concurrent_repeats_make_one_execution(platform: Platform) {
    let actor = register(&platform.api, json!({"image": "abaco/sample-echo"})).await;
    let sends = (0..10).map(|_| send_keyed(&platform, &actor, "burst", json!({"burst": true})));
    let answers = futures::future::join_all(sends).await;
    let ids: std::collections::BTreeSet<&String> = answers.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let firsts = answers.iter().filter(|(_, replayed)| !replayed).count();
    assert_eq!(firsts, 1, "{answers:?}");
    let id = answers[0].0.clone();
    let done = finished(&platform.api, &actor, &id, LIMIT).await;
    assert_eq!(done["status"], "COMPLETE", "{done}");
    assert_eq!(executions(&platform, &actor).await, vec![id]);
}

async fn the_key_outlives_a_crash(mut platform: Platform) {
    let actor = register(&platform.api, json!({"image": "abaco/sample-echo"})).await;
    let (first, _) = send_keyed(&platform, &actor, "survives", json!({"once": 1})).await;
    finished(&platform.api, &actor, &first, LIMIT).await;
    platform.crash_and_restart().await;
    let (again, replayed) = send_keyed(&platform, &actor, "survives", json!({"once": 1})).await;
    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(executions(&platform, &actor).await, vec![first]);
}

async fn bad_keys_are_refused(platform: Platform) {
    let actor = register(&platform.api, json!({"image": "abaco/sample-echo"})).await;
    for key in ["x".repeat(256), "has space".into(), "tab\tin".into()] {
        let answer = platform
            .api
            .with_header("idempotency-key", &key)
            .post(&format!("/actors/{actor}/messages"), &json!({"n": 1}))
            .await;
        // A header reqwest itself refuses to send is no test of ours.
        let Ok(answer) = answer else { continue };
        answer.error(400, "idempotency");
    }
    assert!(executions(&platform, &actor).await.is_empty());
}
