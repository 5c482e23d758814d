//! Images from a real registry (Debian's docker-registry on loopback, open and with htpasswd
//! basic auth), on both backends: an actor whose image no host has is pulled and runs; with
//! the wrong password it turns ERROR naming the registry's answer, and its messages wait.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform,
    registry::LocalRegistry,
    steps::{eventually, finished, logs_of, register, send},
};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(90);

/// The actor's record once its status is `status`.
async fn actor_in(platform: &Platform, actor: &str, status: &str) -> Value {
    eventually(LIMIT, &format!("the actor to be {status}"), || async {
        let answer = platform.api.get(&format!("/actors/{actor}")).await.ok()?;
        (answer.result()["status"] == status).then(|| answer.result().clone())
    })
    .await
}

/// Whether the engine has `image`.
fn engine_has(image: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .unwrap()
        .status
        .success()
}

async fn an_image_only_a_registry_has_is_pulled_and_runs(kind: BackendKind) {
    let registry = LocalRegistry::start(None);
    let client = registry.client_config(None);
    let tag = format!("open-{}", rand_suffix());
    let image = registry.push(
        client.path(),
        "abaco/sample-echo",
        &format!("pull/echo:{tag}"),
    );
    assert!(!engine_has(&image));
    let platform = Platform::start(kind).await;
    let actor = register(&platform.api, json!({"image": image})).await;
    actor_in(&platform, &actor, "READY").await;
    assert!(engine_has(&image), "the image was not pulled");
    let run = send(&platform.api, &actor, "", "text/plain", b"pulled".to_vec()).await;
    assert_eq!(
        finished(&platform.api, &actor, &run, LIMIT).await["status"],
        "COMPLETE"
    );
    assert!(
        logs_of(&platform.api, &actor, &run)
            .await
            .contains("MSG=pulled")
    );
    let _ = std::process::Command::new("docker")
        .args(["rmi", &image])
        .output();
}

async fn credentials_open_a_private_registry_and_a_wrong_password_says_why(kind: BackendKind) {
    let user = ("tester", "s3cret");
    let registry = LocalRegistry::start(Some(user));
    let client = registry.client_config(Some(user));
    let image = registry.push(
        client.path(),
        "abaco/sample-echo",
        &format!("private/echo:{}", rand_suffix()),
    );

    // The wrong password: the actor is ERROR naming the image and the registry's answer, and
    // a message sent meanwhile waits in the mailbox.
    let wrong = registry.auth_file("tester", "guessed");
    let platform = Platform::start_with_settings(
        kind,
        &[("ABACO_REGISTRY_AUTH_FILE", wrong.to_str().unwrap())],
    )
    .await;
    let actor = register(&platform.api, json!({"image": image})).await;
    let failed = actor_in(&platform, &actor, "ERROR").await;
    let reason = failed["statusMessage"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains(&image), "{reason}");
    assert!(
        ["unauthorized", "authentication required", "no basic auth"]
            .iter()
            .any(|answer| reason.contains(answer)),
        "the registry's answer is missing from {reason:?}"
    );
    assert!(!reason.contains("guessed"), "a password is in the status");
    send(&platform.api, &actor, "", "text/plain", b"waits".to_vec()).await;
    let queued = platform
        .api
        .get(&format!("/actors/{actor}/messages"))
        .await
        .unwrap();
    assert_eq!(queued.ok()["messages"], 1, "{}", queued.text);
    drop(platform);

    // The right one: pulled, run.
    let right = registry.auth_file(user.0, user.1);
    let platform = Platform::start_with_settings(
        kind,
        &[("ABACO_REGISTRY_AUTH_FILE", right.to_str().unwrap())],
    )
    .await;
    let actor = register(&platform.api, json!({"image": image})).await;
    actor_in(&platform, &actor, "READY").await;
    let run = send(&platform.api, &actor, "", "text/plain", b"private".to_vec()).await;
    assert_eq!(
        finished(&platform.api, &actor, &run, LIMIT).await["status"],
        "COMPLETE"
    );
    let _ = std::process::Command::new("docker")
        .args(["rmi", &image])
        .output();
}

fn rand_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_only_a_registry_has_is_pulled_and_runs_embedded() {
    an_image_only_a_registry_has_is_pulled_and_runs(BackendKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_only_a_registry_has_is_pulled_and_runs_distributed() {
    an_image_only_a_registry_has_is_pulled_and_runs(BackendKind::Distributed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_open_a_private_registry_and_a_wrong_password_says_why_embedded() {
    credentials_open_a_private_registry_and_a_wrong_password_says_why(BackendKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_open_a_private_registry_and_a_wrong_password_says_why_distributed() {
    credentials_open_a_private_registry_and_a_wrong_password_says_why(BackendKind::Distributed)
        .await;
}
