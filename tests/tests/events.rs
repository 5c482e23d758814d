//! Events on both backends: webhooks get every event, signed, and get it again after failing;
//! a link turns one actor's completion into exactly one message to the next; link cycles are
//! refused; and an event in flight when its deliverer is killed is delivered after all.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    receiver::Receiver,
    steps::{eventually, finished, logs_of, register, send},
};
use serde_json::{Value, json};

on_both_backends!(start = with_events;
    webhooks_get_every_event_signed_and_again_after_failing,
    links_send_one_message_per_event,
    link_cycles_are_refused,
    an_event_in_flight_survives_a_crash_of_its_deliverer,
);

mod by_default {
    abaco_tests::on_both_backends!(webhooks_cannot_reach_the_platforms_own_network);

    use super::*;
}

const LIMIT: Duration = Duration::from_secs(60);
const SECRET: &str = "hook-secret";

async fn with_events(kind: BackendKind) -> Platform {
    Platform::start_with_settings(
        kind,
        &[
            ("ABACO_WEBHOOK_SECRET", SECRET),
            ("ABACO_EVENT_RETRY_MIN_MS", "100"),
            ("ABACO_EVENT_RETRY_MAX_SECS", "1"),
            // The receiver is on loopback.
            ("ABACO_WEBHOOK_PRIVATE_ADDRESSES", "true"),
        ],
    )
    .await
}

/// Waits for a POST the receiver took (answered 200) of `event_type` whose `field` is `value`.
async fn accepted(
    receiver: &Receiver,
    event_type: &str,
    field: &str,
    value: &str,
) -> abaco_tests::receiver::Received {
    eventually(
        LIMIT,
        &format!("{event_type} with {field}={value}"),
        || async {
            receiver
                .accepted_where(field, value)
                .into_iter()
                .find(|r| r.body["event_type"] == event_type)
        },
    )
    .await
}

async fn webhooks_get_every_event_signed_and_again_after_failing(platform: Platform) {
    let api = &platform.api;
    // The first two POSTs fail as a receiver that is restarting would.
    let receiver = Receiver::start(2).await;
    let actor = register(
        api,
        json!({"image": "abaco/sample-exit", "webhook": receiver.url()}),
    )
    .await;
    let ready = accepted(&receiver, "ACTOR_READY", "actor_id", &actor).await;
    assert_eq!(ready.body["actor_dbid"], format!("default_{actor}"));
    assert_eq!(ready.body["_abaco_webhook"], receiver.url());

    let execution = send(api, &actor, "", "str", b"3".to_vec()).await;
    finished(api, &actor, &execution, LIMIT).await;
    let complete = accepted(&receiver, "EXECUTION_COMPLETE", "execution_id", &execution).await;
    let body = &complete.body;
    assert_eq!(body["actor_id"], actor.as_str());
    assert_eq!(body["tenant_id"], "default");
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["exit_code"], 3);
    assert_eq!(body["_abaco_link"], "");
    assert_eq!(body["_abaco_username"], "Abaco Event");
    assert_eq!(body["_abaco_Content_Type"], "application/json");
    assert!(body["event_time_utc"].as_str().unwrap().ends_with('Z'));
    assert_eq!(complete.header("content-type"), Some("application/json"));
    assert_eq!(complete.header("x-abaco-event"), Some("EXECUTION_COMPLETE"));
    assert_eq!(
        complete.header("x-abaco-signature").unwrap(),
        abaco_events::sign(SECRET.as_bytes(), &complete.raw),
        "the signature is the HMAC of the body as sent"
    );
    accepted(&receiver, "EXECUTION_STARTED", "execution_id", &execution).await;

    // Each failed POST was made again until the receiver took it, with the same event id.
    let received = receiver.received();
    let failed: Vec<_> = received.iter().filter(|r| r.answered == 503).collect();
    assert_eq!(failed.len(), 2, "{received:?}");
    for refused in failed {
        let id = refused.header("x-abaco-event-id").unwrap();
        eventually(LIMIT, "the failed event to be posted again", || async {
            receiver
                .received()
                .iter()
                .any(|r| r.answered == 200 && r.header("x-abaco-event-id") == Some(id))
                .then_some(())
        })
        .await;
    }
}

/// The executions of `actor` made by events (executor "Abaco Event"), with their logs.
async fn event_runs(platform: &Platform, actor: &str) -> Vec<(Value, String)> {
    let api = &platform.api;
    let listed = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    let mut runs = Vec::new();
    for item in listed.ok()["executions"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let record = api
            .get(&format!("/actors/{actor}/executions/{id}"))
            .await
            .unwrap()
            .ok()
            .clone();
        if record["executor"] == "Abaco Event" && record["status"] == "COMPLETE" {
            let logs = logs_of(api, actor, id).await;
            runs.push((record, logs));
        }
    }
    runs
}

async fn links_send_one_message_per_event(platform: Platform) {
    let api = &platform.api;
    let second = register(api, json!({"image": "abaco/sample-echo"})).await;
    let first = register(api, json!({"image": "abaco/sample-echo", "link": second})).await;
    let execution = send(api, &first, "", "str", b"ping".to_vec()).await;
    finished(api, &first, &execution, LIMIT).await;

    let completion = |logs: &str| {
        logs.contains(&format!("\"execution_id\":\"{execution}\""))
            && logs.contains("\"event_type\":\"EXECUTION_COMPLETE\"")
    };
    let (record, logs) = eventually(LIMIT, "the linked actor to run the event", || async {
        event_runs(&platform, &second)
            .await
            .into_iter()
            .find(|(_, logs)| completion(logs))
    })
    .await;
    assert!(
        logs.contains(&format!("\"_abaco_link\":\"default_{second}\"")),
        "{logs}"
    );
    assert!(logs.contains("_abaco_username=Abaco Event"), "{logs}");
    assert!(
        logs.contains("_abaco_Content_Type=application/json"),
        "{logs}"
    );
    assert_eq!(record["executor"], "Abaco Event");

    // The first actor's other events (READY, STARTED) went too, but this one went once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let runs = event_runs(&platform, &second).await;
    let copies = runs.iter().filter(|(_, logs)| completion(logs)).count();
    assert_eq!(
        copies, 1,
        "the completion reached the linked actor {copies} times"
    );
}

async fn link_cycles_are_refused(platform: Platform) {
    let api = &platform.api;
    let a = register(api, json!({"image": "abaco/sample-echo", "minWorkers": 0})).await;
    let b = register(
        api,
        json!({"image": "abaco/sample-echo", "minWorkers": 0, "link": a}),
    )
    .await;
    let c = register(
        api,
        json!({"image": "abaco/sample-echo", "minWorkers": 0, "link": b}),
    )
    .await;
    // a -> c would close c -> b -> a.
    api.patch(&format!("/actors/{a}"), &json!({"link": c}))
        .await
        .unwrap()
        .error(400, "cycle");
    api.patch(&format!("/actors/{a}"), &json!({"link": a}))
        .await
        .unwrap()
        .error(400, "link");
    api.post(
        "/actors",
        &json!({"image": "abaco/sample-echo", "link": "0NoSuchActor0"}),
    )
    .await
    .unwrap()
    .error(400, "link");
    // Unchanged by the refusals.
    let kept = api.get(&format!("/actors/{a}")).await.unwrap();
    assert_eq!(kept.ok()["link"], "");
}

async fn an_event_in_flight_survives_a_crash_of_its_deliverer(mut platform: Platform) {
    let receiver = Receiver::start(0).await;
    let actor = register(
        &platform.api,
        json!({"image": "abaco/sample-echo", "webhook": receiver.url()}),
    )
    .await;
    accepted(&receiver, "ACTOR_READY", "actor_id", &actor).await;

    // The receiver stops answering: the events of this run are being delivered, not yet acked.
    receiver.hold();
    let before = receiver.arrivals();
    let execution = send(&platform.api, &actor, "", "str", b"hi".to_vec()).await;
    finished(&platform.api, &actor, &execution, LIMIT).await;
    eventually(LIMIT, "both events of the run to be in flight", || async {
        (receiver.arrivals() >= before + 2).then_some(())
    })
    .await;
    let mark = receiver.arrivals();
    match platform.kind {
        BackendKind::Embedded => platform.crash_and_restart().await,
        BackendKind::Distributed => platform.restart_component("health"),
    }
    receiver.release();

    // Delivered again by the restarted deliverer: an arrival after the crash.
    let again = eventually(
        LIMIT,
        "the completion to be delivered after the crash",
        || async {
            receiver
                .accepted_where("execution_id", &execution)
                .into_iter()
                .find(|r| r.body["event_type"] == "EXECUTION_COMPLETE" && r.arrival >= mark)
        },
    )
    .await;
    assert_eq!(again.body["status"], "COMPLETE");
}

/// Out of the box a webhook cannot point into the platform's own network.
async fn webhooks_cannot_reach_the_platforms_own_network(platform: Platform) {
    let receiver = Receiver::start(0).await;
    let actor = register(
        &platform.api,
        json!({"image": "abaco/sample-echo", "webhook": receiver.url()}),
    )
    .await;
    let execution = send(&platform.api, &actor, "", "str", b"hi".to_vec()).await;
    finished(&platform.api, &actor, &execution, LIMIT).await;
    eventually(LIMIT, "the refusal in the log", || async {
        platform
            .log_tail(400)
            .contains("webhook_private_addresses")
            .then_some(())
    })
    .await;
    assert_eq!(receiver.arrivals(), 0);
    // The URL's path stays out of the log.
    assert!(!platform.log_tail(400).contains("/hook"));
}
