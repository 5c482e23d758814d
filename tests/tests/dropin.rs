//! abaco's everyday requests, as its clients and web pages send them, on both backends: form
//! bodies, abaco's actor fields and units, PUT as a replacement, executions in the order they
//! came, Docker's final state, abaco's admin shapes, CORS, tidied paths, and synchronous
//! messages that wait a bounded time behind a bounded queue.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{finished, register, send},
};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    forms_are_read_on_every_route_that_takes_a_body,
    abacos_actor_fields_and_units,
    put_replaces_and_can_make_an_actor_stateful,
    executions_come_in_order_with_dockers_final_state,
    admin_views_have_abacos_shapes,
    browsers_and_sloppy_paths_are_served,
);

const LIMIT: Duration = Duration::from_secs(60);

async fn forms_are_read_on_every_route_that_takes_a_body(platform: Platform) {
    let api = &platform.api;
    let created = api
        .post_form(
            "/actors",
            &[
                ("image", "abaco/sample-echo"),
                ("name", "formed"),
                ("stateless", "false"),
                ("defaultEnvironment", r#"{"COLOR": "blue"}"#),
            ],
        )
        .await
        .unwrap();
    let actor = created.id();
    assert_eq!(created.ok()["stateless"], false);
    assert_eq!(created.ok()["defaultEnvironment"]["COLOR"], "blue");
    let state = api
        .post_form(&format!("/actors/{actor}/state"), &[("state", "abc")])
        .await
        .unwrap();
    assert_eq!(state.ok()["state"], "abc");
    let replaced = api
        .raw(
            Method::PUT,
            &format!("/actors/{actor}"),
            "application/x-www-form-urlencoded",
            b"image=abaco%2Fsample-echo&stateless=false&description=by+form".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(replaced.ok()["description"], "by form");
    let workers = platform
        .api_as("root")
        .post_form(&format!("/actors/{actor}/workers"), &[("num", "1")])
        .await
        .unwrap();
    workers.ok();
    api.post_form("/actors", &[("image", "abaco/x"), ("stateless", "perhaps")])
        .await
        .unwrap()
        .error(400, "stateless");
}

async fn abacos_actor_fields_and_units(platform: Platform) {
    let api = &platform.api;
    let created = api
        .post(
            "/actors",
            &json!({
                "image": "abaco/sample-inspect", "type": "function", "minWorkers": 0,
                "maxCpus": 500_000_000u64, "memLimit": "2g"
            }),
        )
        .await
        .unwrap();
    let actor = created.ok();
    assert_eq!(actor["type"], "function");
    assert_eq!(actor["maxCpus"], 500_000_000u64);
    assert_eq!(actor["memLimit"], "2g");
    let unlimited = api
        .post(
            "/actors",
            &json!({"image": "abaco/sample-inspect", "maxCpus": -1, "memLimit": -1}),
        )
        .await
        .unwrap();
    assert_eq!(unlimited.ok()["maxCpus"], -1);
    assert_eq!(unlimited.ok()["memLimit"], -1);
    let id = unlimited.id();
    let run = send(api, &id, "", "text/plain", b"look".to_vec()).await;
    assert_eq!(finished(api, &id, &run, LIMIT).await["status"], "COMPLETE");
    // The CPU unit is abaco's: a number of CPUs is refused, saying so.
    api.post("/actors", &json!({"image": "abaco/x", "maxCpus": 1.5}))
        .await
        .unwrap()
        .error(400, "nanoCPUs");
    api.post("/actors", &json!({"image": "abaco/x", "type": "daemon"}))
        .await
        .unwrap()
        .error(400, "type");
    api.post(
        "/actors",
        &json!({"image": "abaco/x", "runAsExecutor": true}),
    )
    .await
    .unwrap()
    .error(400, "runAsExecutor");
    api.post(
        "/actors",
        &json!({"image": "abaco/x", "runAsExecutor": false, "minWorkers": 0}),
    )
    .await
    .unwrap()
    .ok();
    // Mounts reach the host: administrators only.
    let mounts = json!([{"hostPath": "/tmp", "containerPath": "/host-tmp", "mode": "ro"}]);
    api.post("/actors", &json!({"image": "abaco/x", "mounts": mounts}))
        .await
        .unwrap()
        .error(403, "mounts");
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("hello"), "mounted by an admin").unwrap();
    let mounts = json!([{
        "hostPath": shared.path().display().to_string(),
        "containerPath": "/admin-data", "mode": "ro"
    }]);
    let root = platform.api_as("root");
    let mounted = root
        .post(
            "/actors",
            &json!({"image": "abaco/sample-inspect", "mounts": mounts}),
        )
        .await
        .unwrap();
    assert_eq!(mounted.ok()["mounts"][0]["containerPath"], "/admin-data");
    let mounted = mounted.id();
    let run = send(
        &root,
        &mounted,
        "",
        "text/plain",
        b"/admin-data/hello".to_vec(),
    )
    .await;
    finished(&root, &mounted, &run, LIMIT).await;
    let logs = abaco_tests::steps::logs_of(&root, &mounted, &run).await;
    assert!(logs.contains("file=mounted"), "{logs}");
    api.post("/actors", &json!({"image": "abaco/x", "colour": "red"}))
        .await
        .unwrap()
        .error(400, "colour");
}

async fn put_replaces_and_can_make_an_actor_stateful(platform: Platform) {
    let api = &platform.api;
    let actor = register(
        api,
        json!({"image": "abaco/sample-echo", "description": "d", "hints": ["h"]}),
    )
    .await;
    let stateful = api
        .put(
            &format!("/actors/{actor}"),
            &json!({"image": "abaco/sample-echo", "stateless": false}),
        )
        .await
        .unwrap();
    let stateful = stateful.ok().clone();
    assert_eq!(stateful["stateless"], false);
    assert_eq!(stateful["maxWorkers"], 1);
    assert_eq!(stateful["description"], "");
    assert_eq!(stateful["hints"], json!([]));
    assert_eq!(stateful["revision"], 2, "the workers are replaced");
    api.post(&format!("/actors/{actor}/state"), &json!({"count": 1}))
        .await
        .unwrap()
        .ok();
    let run = send(api, &actor, "", "text/plain", b"with state".to_vec()).await;
    assert_eq!(
        finished(api, &actor, &run, LIMIT).await["status"],
        "COMPLETE"
    );
    let logs = abaco_tests::steps::logs_of(api, &actor, &run).await;
    assert!(logs.contains(r#"_abaco_actor_state={"count":1}"#), "{logs}");
}

async fn executions_come_in_order_with_dockers_final_state(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-exit"})).await;
    let mut sent = Vec::new();
    for code in ["0", "3", "0", "5", "0"] {
        sent.push(send(api, &actor, "", "text/plain", code.as_bytes().to_vec()).await);
    }
    for id in &sent {
        finished(api, &actor, id, LIMIT).await;
    }
    let listed = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    let ids: Vec<String> = listed.ok()["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, sent, "executions in the order they were accepted");
    let record = finished(api, &actor, &sent[1], LIMIT).await;
    let state = &record["finalState"];
    assert_eq!(state["ExitCode"], 3, "{record}");
    assert_eq!(state["Status"], "exited", "{record}");
    assert_eq!(state["OOMKilled"], false, "{record}");
    assert!(state["StartedAt"].is_string(), "{record}");
}

async fn admin_views_have_abacos_shapes(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let run = send(api, &actor, "", "text/plain", b"one".to_vec()).await;
    finished(api, &actor, &run, LIMIT).await;
    let root = platform.api_as("root");
    let workers = root.get("/actors/admin/workers").await.unwrap();
    let summary = &workers.ok()["summary"];
    assert!(
        summary["totalWorkers"].as_u64().unwrap() >= 1,
        "{}",
        workers.text
    );
    assert!(
        workers.ok()["workers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["actorId"] == *actor)
    );
    let executions = root.get("/actors/admin/executions").await.unwrap();
    let mine = executions.ok()["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["actorId"] == *actor)
        .cloned()
        .unwrap();
    assert_eq!(mine["totalExecutions"], 1);
    assert!(
        executions.ok()["summary"]["totalExecutionsExisting"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let actors = root.get("/actors/admin").await.unwrap();
    let listed = actors
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == *actor)
        .cloned()
        .unwrap();
    assert_eq!(listed["executions"], 1);
    assert_eq!(listed["messages"], 0);
    let utilization = root.get("/actors/utilization").await.unwrap();
    assert!(utilization.ok()["currentActors"].as_u64().unwrap() >= 1);
    let own = api.get(&format!("/actors/{actor}/workers")).await.unwrap();
    assert_eq!(own.ok()[0]["tenant"], "default");
}

async fn browsers_and_sloppy_paths_are_served(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let http = reqwest::Client::new();
    let preflight = http
        .request(Method::OPTIONS, api.url("/actors"))
        .header("origin", "https://portal.example.org")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let listed = http
        .get(api.url("/actors"))
        .header("origin", "https://portal.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.headers()["access-control-allow-origin"], "*");
    assert_eq!(api.get("//actors").await.unwrap().status, 200);
    api.get("/actors/").await.unwrap().error(404, "");
    let sent = api
        .raw(
            Method::POST,
            &format!("/actors/{actor}/messages/"),
            "text/plain",
            b"slash".to_vec(),
        )
        .await
        .unwrap();
    sent.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_messages_wait_a_bounded_time_behind_a_bounded_queue_embedded() {
    synchronous_messages_wait_bounded(BackendKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_messages_wait_a_bounded_time_behind_a_bounded_queue_distributed() {
    synchronous_messages_wait_bounded(BackendKind::Distributed).await;
}

async fn synchronous_messages_wait_bounded(kind: BackendKind) {
    let platform = Platform::start_with_settings(
        kind,
        &[("ABACO_SYNC_WAIT_SECS", "2"), ("ABACO_SYNC_MAX_QUEUE", "0")],
    )
    .await;
    let api = &platform.api;
    let sleeper = register(api, json!({"image": "abaco/sample-sleep", "maxWorkers": 1})).await;
    let started = std::time::Instant::now();
    let waited = api
        .raw(
            Method::POST,
            &format!("/actors/{sleeper}/messages?_abaco_synchronous=true"),
            "text/plain",
            b"forever".to_vec(),
        )
        .await
        .unwrap();
    // Accepted (202, the execution named): the run goes on, and a client must not retry.
    assert_eq!(waited.status, 202, "{:?}", waited.body);
    assert!(
        waited.message().contains("did not finish within 2 s"),
        "{}",
        waited.message()
    );
    assert!(!waited.result()["executionId"].as_str().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
    // The worker is busy with that one; a queued message makes the next synchronous one
    // refused at once rather than waiting behind it.
    send(api, &sleeper, "", "text/plain", b"forever".to_vec()).await;
    abaco_tests::steps::eventually(LIMIT, "a message waiting", || async {
        let count = api.get(&format!("/actors/{sleeper}/messages")).await.ok()?;
        (count.result()["messages"].as_u64()? >= 1).then_some(())
    })
    .await;
    let refused = api
        .raw(
            Method::POST,
            &format!("/actors/{sleeper}/messages?_abaco_synchronous=true"),
            "text/plain",
            b"1".to_vec(),
        )
        .await
        .unwrap();
    refused.error(409, "synchronous");
}
