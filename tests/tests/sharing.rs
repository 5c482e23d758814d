//! Nonces as abaco's users use them, on both backends in `jwt` mode: a nonce's uses counted
//! exactly under concurrency, one actor opened at its level, and no credential ever reaching
//! a run, a log or a record.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform,
    cast::{ACCESS_SETTINGS, Cast, Who, access_platform},
    on_both_backends,
    steps::{finished, logs_of},
};
use serde_json::json;

on_both_backends!(
    start = access_platform;
    a_nonce_with_five_uses_admits_exactly_five_of_fifty_concurrent_calls,
    nonces_open_one_actor_at_their_level_and_are_never_shown_to_readers,
);

/// With every component logging at debug level, so a credential that were logged anywhere
/// would be found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_a_run_a_log_or_a_record_embedded() {
    no_credential_reaches_a_run_a_log_or_a_record(debug_platform(BackendKind::Embedded).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_reaches_a_run_a_log_or_a_record_distributed() {
    no_credential_reaches_a_run_a_log_or_a_record(debug_platform(BackendKind::Distributed).await)
        .await;
}

async fn debug_platform(kind: BackendKind) -> Platform {
    let mut settings = ACCESS_SETTINGS.to_vec();
    settings.push(("ABACO_LOG", "debug"));
    Platform::start_jwt(kind, &settings).await
}

const LIMIT: Duration = Duration::from_secs(60);

async fn a_nonce_with_five_uses_admits_exactly_five_of_fifty_concurrent_calls(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let alice = cast.api(Who::Owner);
    let nonces = format!("/actors/{}/nonces", cast.actor);
    let nonce = alice
        .post(&nonces, &json!({"maxUses": 5, "level": "EXECUTE"}))
        .await
        .unwrap();
    let nonce = nonce.id();
    let path = format!("/actors/{}/messages?x-nonce={nonce}", cast.actor);
    let calls = (0..50).map(|i| {
        let api = platform.api.clone();
        let path = path.clone();
        tokio::spawn(async move { api.post(&path, &json!({"call": i})).await.unwrap() })
    });
    let mut admitted = 0;
    let mut refused = 0;
    for call in calls {
        let answer = call.await.unwrap();
        match answer.status {
            200 => admitted += 1,
            403 => {
                answer.error(403, "no uses left");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!((admitted, refused), (5, 45));
    let shown = alice.get(&format!("{nonces}/{nonce}")).await.unwrap();
    assert_eq!(shown.ok()["remainingUses"], 0);
    assert_eq!(shown.ok()["currentUses"], 5);
    assert!(shown.ok()["lastUseTime"].is_string());
}

async fn nonces_open_one_actor_at_their_level_and_are_never_shown_to_readers(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let a = &cast.actor;
    let alice = cast.api(Who::Owner);
    let nonces = format!("/actors/{a}/nonces");
    let read = alice
        .post_form(
            &nonces,
            &[("level", "READ"), ("description", "for a dashboard")],
        )
        .await
        .unwrap();
    let read_id = read.id();
    assert_eq!(read.ok()["maxUses"], -1);
    assert_eq!(read.ok()["actorId"], *a);
    assert!(read.message().contains("nonce created"), "{}", read.text);
    let bearer = &platform.api;
    // READ lets a bearer read, not send.
    assert_eq!(
        bearer
            .get(&format!("/actors/{a}?x-nonce={read_id}"))
            .await
            .unwrap()
            .status,
        200
    );
    bearer
        .post(
            &format!("/actors/{a}/messages?x-nonce={read_id}"),
            &json!({}),
        )
        .await
        .unwrap()
        .error(403, "EXECUTE");
    // One actor only: another actor of alice's is not opened.
    let other = alice
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "minWorkers": 0}),
        )
        .await
        .unwrap();
    let other = other.id();
    bearer
        .get(&format!("/actors/{other}?x-nonce={read_id}"))
        .await
        .unwrap()
        .error(401, "x-nonce");
    // A nonce never manages sharing, even through an UPDATE nonce.
    let update = alice
        .post(&nonces, &json!({"level": "UPDATE"}))
        .await
        .unwrap();
    let update_id = update.id();
    for (path, body) in [
        (format!("{nonces}?x-nonce={update_id}"), json!({})),
        (
            format!("/actors/{a}/permissions?x-nonce={update_id}"),
            json!({"user": "x", "level": "READ"}),
        ),
    ] {
        bearer.post(&path, &body).await.unwrap().error(403, "nonce");
    }
    bearer
        .patch(
            &format!("/actors/{a}?x-nonce={update_id}"),
            &json!({"maxWorkers": 7}),
        )
        .await
        .unwrap()
        .error(403, "maxWorkers");
    bearer
        .patch(
            &format!("/actors/{a}?x-nonce={update_id}"),
            &json!({"description": "via nonce"}),
        )
        .await
        .unwrap()
        .ok();
    // A user who may only read the actor sees no one's nonces but their own.
    alice
        .post(
            &format!("/actors/{a}/permissions"),
            &json!({"user": "bob", "level": "READ"}),
        )
        .await
        .unwrap()
        .ok();
    let bob = cast.api(Who::Regular);
    let listed = bob.get(&nonces).await.unwrap();
    assert_eq!(listed.ok().as_array().unwrap().len(), 0, "{}", listed.text);
    bob.get(&format!("{nonces}/{update_id}"))
        .await
        .unwrap()
        .error(404, "nonce");
    let all = alice.get(&nonces).await.unwrap();
    assert_eq!(all.ok().as_array().unwrap().len(), 3);
    // Bad input is named; a deleted nonce opens nothing.
    alice
        .post(&nonces, &json!({"maxUses": 0}))
        .await
        .unwrap()
        .error(400, "maxUses");
    alice
        .post(&nonces, &json!({"level": "NONE"}))
        .await
        .unwrap()
        .error(400, "level");
    let deleted = alice.delete(&format!("{nonces}/{read_id}")).await.unwrap();
    deleted.ok();
    bearer
        .get(&format!("/actors/{a}?x-nonce={read_id}"))
        .await
        .unwrap()
        .error(401, "x-nonce");
    alice
        .delete(&format!("{nonces}/{read_id}"))
        .await
        .unwrap()
        .error(404, "nonce");
}

async fn no_credential_reaches_a_run_a_log_or_a_record(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let alice = cast.api(Who::Owner);
    let actor = alice
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "token": true}),
        )
        .await
        .unwrap();
    let actor = actor.id();
    let nonce = alice
        .post(&format!("/actors/{actor}/nonces"), &json!({}))
        .await
        .unwrap();
    let nonce = nonce.id();
    let alice_token = platform.token("alice", None);
    let sent = platform
        .api
        .post(
            &format!("/actors/{actor}/messages?x-nonce={nonce}&COLOR=blue"),
            &json!({"m": 1}),
        )
        .await
        .unwrap();
    let execution = sent.ok()["executionId"].as_str().unwrap().to_string();
    let record = finished(alice, &actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(alice, &actor, &execution).await;
    assert!(logs.contains("COLOR=blue"), "{logs}");
    assert!(
        !logs.contains(&nonce) && !logs.contains("x-nonce"),
        "the nonce reached the run:\n{logs}"
    );
    assert!(
        !logs.contains(&alice_token),
        "the caller's token reached the run"
    );
    // The run's own token is real: it is alice's, and the gateway takes it.
    let token = logs
        .lines()
        .find_map(|line| line.strip_prefix("_abaco_access_token="))
        .expect("a token: true actor's run gets _abaco_access_token");
    let as_run = platform
        .api
        .with_token(token)
        .get(&format!("/actors/{actor}"))
        .await
        .unwrap();
    assert_eq!(as_run.ok()["owner"], "alice");
    // An actor without token: true gets none, even when a caller tries to pass one in.
    let plain = platform
        .api_as("alice")
        .post(
            &format!("/actors/{}/messages?_abaco_access_token=forged", cast.actor),
            &json!({}),
        )
        .await
        .unwrap();
    let plain = plain.ok()["executionId"].as_str().unwrap().to_string();
    finished(alice, &cast.actor, &plain, LIMIT).await;
    assert!(
        !logs_of(alice, &cast.actor, &plain)
            .await
            .contains("_abaco_access_token")
    );
    // Nobody but the owner may swap the code whose runs carry the owner's token: not a user
    // the actor is shared with at UPDATE, not an UPDATE nonce (even the owner's own).
    alice
        .post(
            &format!("/actors/{actor}/permissions"),
            &json!({"user": "bob", "level": "UPDATE"}),
        )
        .await
        .unwrap()
        .ok();
    let update_nonce = alice
        .post(
            &format!("/actors/{actor}/nonces"),
            &json!({"level": "UPDATE"}),
        )
        .await
        .unwrap();
    let update_nonce = update_nonce.id();
    let swap = json!({"image": "abaco/sample-inspect"});
    cast.api(Who::Regular)
        .put(&format!("/actors/{actor}"), &swap)
        .await
        .unwrap()
        .error(403, "image");
    platform
        .api
        .put(&format!("/actors/{actor}?x-nonce={update_nonce}"), &swap)
        .await
        .unwrap()
        .error(403, "image");
    cast.api(Who::Regular)
        .patch(&format!("/actors/{actor}"), &json!({"description": "fine"}))
        .await
        .unwrap()
        .ok();
    alice
        .put(&format!("/actors/{actor}"), &swap)
        .await
        .unwrap()
        .ok();
    // Records and logs of the platform hold neither.
    let shown = alice
        .get(&format!("/actors/{actor}/executions/{execution}"))
        .await
        .unwrap();
    assert!(!shown.text.contains(&nonce));
    let logged = platform.log_tail(100_000);
    for secret in [
        nonce.as_str(),
        alice_token.as_str(),
        abaco_tests::JWT_SECRET,
        platform.internal_token(),
    ] {
        assert!(
            !logged.contains(secret),
            "a credential is in the platform's logs"
        );
    }
}
