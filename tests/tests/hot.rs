//! Hot actors (`hints: ["hot"]`) on both backends, with the `sample-hot` image: one container
//! takes message after message, each execution keeps its own logs, results and exit code; a
//! container that crashes or overruns the actor's `maxRunTime` ends that execution ERROR and
//! a fresh container serves the next; an update or a deletion takes the container away; a
//! platform killed mid-message runs it again in a fresh container and removes the old one.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    Api, Platform, on_both_backends,
    steps::{eventually, finished, hot_containers_of, logs_of, register, running, send, workers},
};
use serde_json::{Value, json};

on_both_backends!(
    one_container_serves_message_after_message_and_keeps_each_executions_output_apart,
    a_crash_or_a_timeout_ends_that_execution_error_and_a_fresh_container_serves_the_next,
    an_update_or_a_deletion_takes_the_hot_container_away,
    a_crash_mid_message_runs_it_again_in_a_fresh_container_and_the_old_one_goes,
);

const LIMIT: Duration = Duration::from_secs(90);

/// One message run to its end: its record, logs and results.
struct Ran {
    id: String,
    record: Value,
    logs: String,
    results: String,
}

async fn run(api: &Api, actor: &str, message: &str) -> Ran {
    let id = send(api, actor, "", "text/plain", message.as_bytes().to_vec()).await;
    Ran::of(api, actor, id).await
}

impl Ran {
    /// Execution `id` once it has ended.
    async fn of(api: &Api, actor: &str, id: String) -> Self {
        let record = finished(api, actor, &id, LIMIT).await;
        let logs = logs_of(api, actor, &id).await;
        let results = api
            .get(&format!("/actors/{actor}/executions/{id}/results"))
            .await
            .unwrap();
        assert_eq!(results.status, 200, "{}", results.text);
        Self {
            id,
            record,
            logs,
            results: results.text,
        }
    }
}

impl Ran {
    fn assert_complete(&self, exit_code: i64) {
        assert_eq!(self.record["status"], "COMPLETE", "{}", self.record);
        assert_eq!(self.record["exitCode"], exit_code, "{}", self.record);
    }

    /// The sample's line for message number `nth` of its container.
    fn assert_served(&self, nth: usize, message: &str, greeting: &str) {
        self.assert_complete(0);
        assert_eq!(
            self.logs,
            format!(
                "message {nth} of this container: {message} (execution {}, greeting {greeting})\n\
                 sent 1 result datagram(s) of {} bytes\n",
                self.id,
                "hot: ".len() + message.len()
            ),
        );
        assert_eq!(self.results, format!("hot: {message}"));
    }
}

fn hot_actor(extra: Value) -> Value {
    let mut body = json!({
        "image": "abaco/sample-hot",
        "hints": ["hot"],
        "defaultEnvironment": {"GREETING": "v1"},
        // One worker, so one container: the health checks add workers to an actor whose
        // mailbox holds a message when they look, and a second container would count its
        // messages from one again.
        "maxWorkers": 1,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

async fn one_container_serves_message_after_message_and_keeps_each_executions_output_apart(
    platform: Platform,
) {
    let api = &platform.api;
    let actor = register(api, hot_actor(json!({}))).await;
    let first = run(api, &actor, "one").await;
    first.assert_served(1, "one", "v1");
    let second = run(api, &actor, "two").await;
    second.assert_served(2, "two", "v1");
    let failed = run(api, &actor, "fail").await;
    failed.assert_complete(5);
    assert_eq!(failed.logs, "failing on purpose\n");
    assert!(failed.results.is_empty(), "{:?}", failed.results);
    let fourth = run(api, &actor, "four").await;
    fourth.assert_served(4, "four", "v1");
    // Binary messages reach the container whole (base64 in the protocol line).
    let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let binary = send(api, &actor, "", "application/octet-stream", payload).await;
    let binary = Ran::of(api, &actor, binary).await;
    binary.assert_complete(0);
    assert_eq!(
        binary.logs,
        "binary: 10000 bytes, first 0001020304050607, last 08090a0b0c0d0e0f\n"
    );
    run(api, &actor, "six").await.assert_served(6, "six", "v1");
    // Another actor's messages go to a container of its own.
    let other = register(
        api,
        hot_actor(json!({"defaultEnvironment": {"GREETING": "other"}})),
    )
    .await;
    let elsewhere = run(api, &other, "one").await;
    elsewhere.assert_served(1, "one", "other");
    let hot = hot_containers_of(platform.namespace());
    assert_eq!(hot.len(), 2, "{hot:?}");
}

async fn a_crash_or_a_timeout_ends_that_execution_error_and_a_fresh_container_serves_the_next(
    platform: Platform,
) {
    let api = &platform.api;
    let actor = register(api, hot_actor(json!({"maxRunTime": 3}))).await;
    let first = run(api, &actor, "first").await;
    first.assert_served(1, "first", "v1");

    let crashed = run(api, &actor, "crash").await;
    assert_eq!(crashed.record["status"], "ERROR", "{}", crashed.record);
    assert_eq!(crashed.record["exitCode"], 3, "{}", crashed.record);
    let why = crashed.record["statusMessage"].as_str().unwrap();
    assert!(why.contains("hot container ended"), "{why}");
    assert_eq!(crashed.logs, "crashing on purpose\n");
    let after_crash = run(api, &actor, "after").await;
    after_crash.assert_served(1, "after", "v1");

    let hung = run(api, &actor, "hang").await;
    assert_eq!(hung.record["status"], "ERROR", "{}", hung.record);
    let why = hung.record["statusMessage"].as_str().unwrap();
    assert!(why.contains("timed out"), "{why}");
    assert_eq!(hung.logs, "hanging\n");
    let after_hang = run(api, &actor, "again").await;
    after_hang.assert_served(1, "again", "v1");
    let next = run(api, &actor, "next").await;
    next.assert_served(2, "next", "v1");

    // A container that ends between messages is replaced before the next one: that message
    // never reached it, so it runs rather than ending ERROR.
    let hot = hot_containers_of(platform.namespace());
    assert_eq!(hot.len(), 1, "{hot:?}");
    let killed = std::process::Command::new("docker")
        .args(["kill", &hot[0]])
        .output()
        .unwrap();
    assert!(killed.status.success(), "{killed:?}");
    eventually(LIMIT, "the killed container to stop", || {
        let running = std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", &hot[0]])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "true")
            .unwrap_or(false);
        async move { (!running).then_some(()) }
    })
    .await;
    // The worker learns of the end when Docker closes the container's output, which is not
    // ordered with the state Docker reports; give that a moment (on a loaded machine too).
    tokio::time::sleep(Duration::from_secs(2)).await;
    run(api, &actor, "revived")
        .await
        .assert_served(1, "revived", "v1");

    // The ended containers are gone; only the serving one is left.
    let hot = hot_containers_of(platform.namespace());
    assert_eq!(hot.len(), 1, "{hot:?}");
}

async fn an_update_or_a_deletion_takes_the_hot_container_away(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, hot_actor(json!({}))).await;
    let before = run(api, &actor, "before").await;
    before.assert_served(1, "before", "v1");
    let updated = api
        .put(
            &format!("/actors/{actor}"),
            &hot_actor(json!({"defaultEnvironment": {"GREETING": "v2"}})),
        )
        .await
        .unwrap();
    assert_eq!(updated.ok()["revision"], 1);
    // A new environment is a new container (the revision stays: a fresh run would simply
    // read the actor again).
    let after = run(api, &actor, "after").await;
    after.assert_served(1, "after", "v2");
    let namespace = platform.namespace().to_string();
    eventually(LIMIT, "one hot container", || {
        let hot = hot_containers_of(&namespace);
        async move { (hot.len() == 1).then_some(()) }
    })
    .await;
    // A new revision replaces the worker, and its container with it.
    let forced = api
        .put(
            &format!("/actors/{actor}"),
            &hot_actor(json!({"defaultEnvironment": {"GREETING": "v3"}, "force": true})),
        )
        .await
        .unwrap();
    assert_eq!(forced.ok()["revision"], 2);
    let last = run(api, &actor, "last").await;
    last.assert_served(1, "last", "v3");
    eventually(LIMIT, "the old revision's hot container to go", || {
        let hot = hot_containers_of(&namespace);
        async move { (hot.len() == 1).then_some(()) }
    })
    .await;

    api.delete(&format!("/actors/{actor}")).await.unwrap().ok();
    eventually(LIMIT, "the deleted actor's hot container to go", || {
        let hot = hot_containers_of(&namespace);
        async move { hot.is_empty().then_some(()) }
    })
    .await;
}

async fn a_crash_mid_message_runs_it_again_in_a_fresh_container_and_the_old_one_goes(
    mut platform: Platform,
) {
    let api = platform.api.clone();
    let namespace = platform.namespace().to_string();
    let actor = register(&api, hot_actor(json!({}))).await;
    run(&api, &actor, "warm")
        .await
        .assert_served(1, "warm", "v1");
    let slow = send(&api, &actor, "", "text/plain", b"slow".to_vec()).await;
    running(&api, &actor, &slow, LIMIT).await;
    let before = hot_containers_of(&namespace);
    assert_eq!(before.len(), 1, "{before:?}");
    // The busy worker names the hot container as its run's (abaco's `cid`).
    let busy = workers(&api, &actor).await;
    assert!(
        busy.iter().any(|w| w["cid"] == before[0].as_str()),
        "{busy:?}"
    );

    platform.crash_and_restart().await;
    let ran = Ran::of(&api, &actor, slow).await;
    // Its first container had served one message: this is a fresh one.
    ran.assert_served(1, "slow", "v1");
    eventually(LIMIT, "the dead worker's hot container to go", || {
        let hot = hot_containers_of(&namespace);
        let old = before[0].clone();
        async move { (!hot.contains(&old)).then_some(()) }
    })
    .await;
}
