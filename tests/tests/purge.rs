//! Purging an actor's mailbox, on both backends: the executions whose messages it removed end
//! ERROR at once, saying so (they used to wait for the stuck-execution sweep, which settled
//! them only once the mailbox had emptied), and a message sent after the purge still waits.

#![allow(clippy::unwrap_used)]

use abaco_tests::{
    Platform, on_both_backends,
    steps::{register, send},
};
use serde_json::json;

on_both_backends!(purged_messages_end_their_executions_at_once);

async fn purged_messages_end_their_executions_at_once(platform: Platform) {
    let api = &platform.api;
    // An image no host has: the messages wait in the mailbox.
    let actor = register(api, json!({"image": "abaco/not-built-yet"})).await;
    // More than `purge_concurrency` (16) of them, so the purge ends them in several turns.
    let mut purged = Vec::new();
    for i in 0..40 {
        purged.push(send(api, &actor, "", "text/plain", format!("m{i}").into_bytes()).await);
    }
    let answer = api
        .delete(&format!("/actors/{actor}/messages"))
        .await
        .unwrap();
    answer.ok();
    let after = send(api, &actor, "", "text/plain", b"after".to_vec()).await;

    for id in &purged {
        let execution = api
            .get(&format!("/actors/{actor}/executions/{id}"))
            .await
            .unwrap();
        let execution = execution.ok();
        assert_eq!(execution["status"], "ERROR", "{execution}");
        assert!(
            execution["statusMessage"]
                .as_str()
                .unwrap()
                .contains("purged"),
            "{execution}"
        );
    }
    let waiting = api
        .get(&format!("/actors/{actor}/executions/{after}"))
        .await
        .unwrap();
    assert_eq!(waiting.ok()["status"], "SUBMITTED", "{}", waiting.text);
}
