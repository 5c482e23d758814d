//! Actor configs on both backends: a config reaches the runs of the actors it names as
//! `_actor_configs`; a secret is sealed at rest and never shown back; configs have their own
//! permissions; and names are checked as abaco checks them.

#![allow(clippy::unwrap_used)]

use std::{process::Command, time::Duration};

use abaco_tests::{
    BackendKind, Platform, on_both_backends, redis_url,
    steps::{finished, logs_of, register, send},
};
use serde_json::json;

on_both_backends!(start = with_key;
    configs_reach_the_runs_they_name,
    secrets_are_sealed_at_rest_and_never_shown,
    configs_have_their_own_permissions,
    names_and_fields_are_checked,
);

const LIMIT: Duration = Duration::from_secs(60);

/// A distributed platform is given its key; `abaco up` makes its own.
async fn with_key(kind: BackendKind) -> Platform {
    match kind {
        BackendKind::Embedded => Platform::start(kind).await,
        BackendKind::Distributed => {
            Platform::start_with_settings(
                kind,
                &[("ABACO_CONFIGS_KEY", "a-test-key-of-some-length")],
            )
            .await
        }
    }
}

/// The `_actor_configs` line of a run of `actor`.
async fn configs_seen_by(platform: &Platform, actor: &str) -> String {
    let api = &platform.api;
    let execution = send(api, actor, "", "str", b"hi".to_vec()).await;
    finished(api, actor, &execution, LIMIT).await;
    let logs = logs_of(api, actor, &execution).await;
    logs.lines()
        .find_map(|line| line.strip_prefix("_actor_configs="))
        .unwrap_or_else(|| panic!("no _actor_configs in {logs}"))
        .to_string()
}

async fn configs_reach_the_runs_they_name(platform: Platform) {
    let api = &platform.api;
    let named = register(api, json!({"image": "abaco/sample-echo"})).await;
    let other = register(api, json!({"image": "abaco/sample-echo"})).await;
    api.post(
        "/actors/aliases",
        &json!({"alias": "configured", "actorId": named}),
    )
    .await
    .unwrap()
    .ok();
    for (name, value, secret) in [
        ("color", json!("blue"), false),
        ("limits", json!({"n": 2}), false),
        ("token", json!("s3cret"), true),
    ] {
        api.post(
            "/actors/configs",
            &json!({"name": name, "value": value, "isSecret": secret, "actors": "configured"}),
        )
        .await
        .unwrap()
        .ok();
    }
    let seen: serde_json::Value =
        serde_json::from_str(&configs_seen_by(&platform, &named).await).unwrap();
    assert_eq!(
        seen,
        json!({"color": "blue", "limits": "{\"n\":2}", "token": "s3cret"})
    );
    assert_eq!(configs_seen_by(&platform, &other).await, "{}");

    // Moved to the other actor, and then deleted: the runs follow.
    api.put(
        "/actors/configs/color",
        &json!({"value": "green", "isSecret": false, "actors": other}),
    )
    .await
    .unwrap()
    .ok();
    assert_eq!(
        configs_seen_by(&platform, &other).await,
        r#"{"color":"green"}"#
    );
    let seen: serde_json::Value =
        serde_json::from_str(&configs_seen_by(&platform, &named).await).unwrap();
    assert!(seen.get("color").is_none(), "{seen}");
    api.delete("/actors/configs/color").await.unwrap().ok();
    assert_eq!(configs_seen_by(&platform, &other).await, "{}");
    api.get("/actors/configs/color")
        .await
        .unwrap()
        .error(404, "color");
}

/// Every byte the platform stored about configs.
fn stored_config_bytes(platform: &Platform) -> Vec<u8> {
    match platform.kind {
        BackendKind::Embedded => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(platform.data_dir()).unwrap().flatten() {
                if entry.path().is_file() {
                    bytes.extend(std::fs::read(entry.path()).unwrap());
                }
            }
            bytes
        }
        BackendKind::Distributed => {
            let pattern = format!("{{{}:configs}}*", platform.namespace());
            let keys = Command::new("redis-cli")
                .args(["-u", &redis_url(), "--scan", "--pattern", &pattern])
                .output()
                .unwrap();
            let mut bytes = Vec::new();
            for key in String::from_utf8_lossy(&keys.stdout).split_whitespace() {
                // Records are hashes; every field, raw (DUMP could compress them).
                let fields = Command::new("redis-cli")
                    .args(["-u", &redis_url(), "--raw", "HGETALL", key])
                    .output()
                    .unwrap();
                bytes.extend(fields.stdout);
            }
            assert!(!bytes.is_empty(), "no config found under {pattern}");
            bytes
        }
    }
}

async fn secrets_are_sealed_at_rest_and_never_shown(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo", "minWorkers": 0})).await;
    const PLAIN: &str = "plaintext-that-must-not-be-stored";
    let created = api
        .post(
            "/actors/configs",
            &json!({"name": "db_password", "value": PLAIN, "isSecret": true, "actors": actor}),
        )
        .await
        .unwrap();
    let shown = created.ok().clone();
    assert_eq!(shown["isSecret"], true);
    assert_eq!(shown["value"], "********");
    assert_eq!(shown["actors"], actor.as_str());
    for path in ["/actors/configs", "/actors/configs/db_password"] {
        let answer = api.get(path).await.unwrap();
        let text = answer.ok().to_string();
        assert!(!text.contains(PLAIN), "{path}: {text}");
        assert!(text.contains("********"), "{path}: {text}");
    }
    let stored = stored_config_bytes(&platform);
    let plain = PLAIN.as_bytes();
    assert!(
        !stored.windows(plain.len()).any(|w| w == plain),
        "the secret is stored in the clear"
    );
    let log = platform.log_tail(2000);
    assert!(!log.contains(PLAIN), "the secret is in the platform's log");
}

async fn configs_have_their_own_permissions(platform: Platform) {
    let alice = platform.api_as("alice");
    let bob = platform.api_as("bob");
    let alices = register(
        &alice,
        json!({"image": "abaco/sample-echo", "minWorkers": 0}),
    )
    .await;
    let bobs = register(&bob, json!({"image": "abaco/sample-echo", "minWorkers": 0})).await;
    alice
        .post(
            "/actors/configs",
            &json!({"name": "shared", "value": "v", "isSecret": false, "actors": alices}),
        )
        .await
        .unwrap()
        .ok();
    // Bob sees none of it, and cannot give his actor's runs... or take Alice's actor.
    let listed = bob.get("/actors/configs").await.unwrap();
    assert_eq!(listed.ok().as_array().unwrap().len(), 0);
    bob.get("/actors/configs/shared")
        .await
        .unwrap()
        .error(403, "READ");
    bob.post(
        "/actors/configs",
        &json!({"name": "mine", "value": "v", "isSecret": false, "actors": format!("{bobs},{alices}")}),
    )
    .await
    .unwrap()
    .error(403, &alices);

    alice
        .post(
            "/actors/configs/shared/permissions",
            &json!({"user": "bob", "level": "READ"}),
        )
        .await
        .unwrap()
        .ok();
    let read = bob.get("/actors/configs/shared").await.unwrap();
    assert_eq!(read.ok()["value"], "v");
    assert_eq!(
        bob.get("/actors/configs")
            .await
            .unwrap()
            .ok()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let update = json!({"value": "w", "isSecret": false, "actors": alices});
    bob.put("/actors/configs/shared", &update)
        .await
        .unwrap()
        .error(403, "UPDATE");
    let granted = alice
        .post(
            "/actors/configs/shared/permissions",
            &json!({"user": "bob", "level": "UPDATE"}),
        )
        .await
        .unwrap();
    assert_eq!(granted.ok()["bob"], "UPDATE");
    assert_eq!(granted.ok()["alice"], "UPDATE");
    // Bob may update the config, but not name Alice's actor unless he may update it too.
    bob.put("/actors/configs/shared", &update)
        .await
        .unwrap()
        .error(403, &alices);
    bob.put(
        "/actors/configs/shared",
        &json!({"value": "w", "isSecret": false, "actors": bobs}),
    )
    .await
    .unwrap()
    .ok();
    bob.delete("/actors/configs/shared").await.unwrap().ok();
    // Made again, it starts with no grants of the old one.
    alice
        .post(
            "/actors/configs",
            &json!({"name": "shared", "value": "v", "isSecret": false, "actors": ""}),
        )
        .await
        .unwrap()
        .ok();
    bob.get("/actors/configs/shared")
        .await
        .unwrap()
        .error(403, "READ");
}

async fn names_and_fields_are_checked(platform: Platform) {
    let api = &platform.api;
    let body = |name: &str| json!({"name": name, "value": "v", "isSecret": false, "actors": ""});
    api.post("/actors/configs", &body("logs"))
        .await
        .unwrap()
        .error(400, "reserved word");
    api.post("/actors/configs", &body("a/b"))
        .await
        .unwrap()
        .error(400, "forbidden character");
    api.post("/actors/configs", &body("fine"))
        .await
        .unwrap()
        .ok();
    api.post("/actors/configs", &body("fine"))
        .await
        .unwrap()
        .error(409, "already exists");
    api.post(
        "/actors/configs",
        &json!({"name": "x", "value": "v", "isSecret": false, "actors": "0NoSuchActor0"}),
    )
    .await
    .unwrap()
    .error(404, "0NoSuchActor0");
    api.post(
        "/actors/configs",
        &json!({"name": "y", "value": "v", "actors": ""}),
    )
    .await
    .unwrap()
    .error(400, "isSecret");
    api.put("/actors/configs/fine", &json!({"value": "v"}))
        .await
        .unwrap()
        .error(400, "isSecret");
    api.post("/actors/configs/fine/nonces", &json!({}))
        .await
        .unwrap()
        .error(404, "");
}
