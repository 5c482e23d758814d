//! Messages the broker lost: a RabbitMQ that comes back from a crash without messages it had
//! confirmed leaves their executions SUBMITTED with nothing to run them. The health checks'
//! sweep ends each ERROR, saying why, once its message is `stuck_after` old, so every accepted
//! message still ends visibly.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use abaco_tests::{
    BackendKind, Platform, PrivateRabbit, redis_url,
    steps::{register, send},
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_the_broker_lost_end_error_saying_so() {
    let rabbit = PrivateRabbit::start();
    let platform = Platform::start_with_urls_and_settings(
        BackendKind::Distributed,
        redis_url(),
        rabbit.url(),
        &[
            ("ABACO_STUCK_AFTER_SECS", "3"),
            ("ABACO_HEALTH_SWEEP_SECS", "1"),
        ],
    )
    .await;
    let api = &platform.api;
    // An image no host has: the messages wait in the mailbox, and no worker takes them.
    let actor = register(api, json!({"image": "abaco/not-built-yet"})).await;
    let mut lost = Vec::new();
    for i in 0..3 {
        lost.push(send(api, &actor, "", "text/plain", format!("m{i}").into_bytes()).await);
    }
    rabbit.purge_queue(&format!("{}.actor.{actor}", platform.namespace()));

    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &lost {
        loop {
            let execution = api
                .get(&format!("/actors/{actor}/executions/{id}"))
                .await
                .unwrap();
            let execution = execution.ok();
            if execution["status"] == "ERROR" {
                assert!(
                    execution["statusMessage"]
                        .as_str()
                        .unwrap()
                        .contains("lost by the broker"),
                    "{execution}"
                );
                break;
            }
            assert_eq!(execution["status"], "SUBMITTED", "{execution}");
            assert!(
                Instant::now() < deadline,
                "the sweep did not end a lost message in 30 s: {execution}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
