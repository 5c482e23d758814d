//! The distributed deployment as operators start it: `docker-compose up` of compose/, with a
//! second spawner host (its profile `second-host`), on this machine's engine with no registry
//! (compose/images.sh builds the base image from Debian's mirror). Through the published
//! gateway, as a verified caller: a message runs and its logs are read; actors spread over both
//! hosts; force-quit and worker deletion reach workers on either host; killing one host (its
//! spawner and workers) loses no accepted message: they run on the other. The project is
//! taken down with its volumes at the end.

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, process::Command, time::Duration};

use abaco_tests::{
    Api,
    compose::ComposeProject,
    steps::{eventually, finished, logs_of, register, running, send, workers},
    token_with,
};
use serde_json::{Value, json};

/// Starting Redis and RabbitMQ, then seven components, from cold.
const START: Duration = Duration::from_secs(180);
/// A run on a fresh spawner: a worker starts, then the container.
const RUN: Duration = Duration::from_secs(120);
/// Most actors registered while waiting for them to spread over both hosts.
const MOST_ACTORS: usize = 8;

/// The host (container hostname) the one READY worker of `actor` runs on.
async fn host_of(api: &Api, actor: &str) -> String {
    eventually(RUN, "the actor's worker to be ready", || async {
        let listed = workers(api, actor).await;
        let ready = listed.iter().find(|w| w["status"] == "READY")?;
        Some(ready["hostId"].as_str()?.to_string())
    })
    .await
}

/// The hostname of `container`.
fn hostname(container: &str) -> String {
    let output = Command::new("docker")
        .args(["inspect", "-f", "{{.Config.Hostname}}", container])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Runs a never-ending message on `actor` and force-quits it through the API.
async fn force_quit_a_run(api: &Api, actor: &str) {
    let execution = send(api, actor, "", "text/plain", b"forever".to_vec()).await;
    running(api, actor, &execution, RUN).await;
    api.delete(&format!("/actors/{actor}/executions/{execution}"))
        .await
        .unwrap()
        .ok();
    let record = finished(api, actor, &execution, Duration::from_secs(20)).await;
    let said = record["statusMessage"].as_str().unwrap_or_default();
    assert!(said.contains("force"), "{record}");
}

/// Deletes `actor`'s worker through the API and waits for it to be gone.
async fn delete_its_worker(api: &Api, actor: &str) {
    let listed = workers(api, actor).await;
    let worker = listed[0]["id"].as_str().unwrap().to_string();
    let answer = api
        .delete(&format!("/actors/{actor}/workers/{worker}"))
        .await
        .unwrap();
    assert!(answer.status < 300, "{}: {}", answer.status, answer.text);
    eventually(RUN, "the deleted worker to be gone", || async {
        workers(api, actor)
            .await
            .iter()
            .all(|w| w["id"] != worker.as_str())
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_runs_the_platform_on_two_hosts() {
    let project = ComposeProject::up_with(&["second-host"]);
    let token = token_with(&json!({
        "sub": "composer",
        "exp": jsonwebtoken::get_current_timestamp() + 3600,
    }));
    let api = Api::new(project.http_addr).with_token(&token);

    // Components start in any order (and restart until Redis and RabbitMQ take them): wait
    // until registration and the messages service both answer (404 for no such actor).
    let started = tokio::time::timeout(
        START,
        eventually(
            START,
            "the compose gateway and services to answer",
            || async {
                let listed = api.get("/actors").await.ok()?;
                let counted = api.get("/actors/none/messages").await.ok()?;
                (listed.status == 200 && counted.status == 404).then_some(())
            },
        ),
    )
    .await;
    assert!(
        started.is_ok(),
        "compose never answered:\n{}",
        project.logs(40)
    );

    // Beyond loopback the gateway verifies callers: no token, no answer.
    Api::new(project.http_addr)
        .get("/actors")
        .await
        .unwrap()
        .error(401, "token");

    let echo = register(&api, json!({"image": "abaco/sample-echo"})).await;
    let execution = send(&api, &echo, "", "text/plain", b"from compose".to_vec()).await;
    let record = finished(&api, &echo, &execution, RUN).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(&api, &echo, &execution).await;
    assert!(logs.contains("MSG=from compose"), "{logs}");

    // Actors spread over both hosts: the spawner with more room takes the next worker.
    let first = hostname(&project.container("spawner"));
    let second = hostname(&project.container("spawner2"));
    let mut on: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..MOST_ACTORS {
        let actor = register(&api, json!({"image": "abaco/sample-sleep"})).await;
        let host = host_of(&api, &actor).await;
        on.entry(host).or_default().push(actor);
        let count = |host: &str| on.get(host).map_or(0, Vec::len);
        if count(&first) >= 1 && count(&second) >= 2 {
            break;
        }
        // Spawners report their load with their heartbeat.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let (Some(on_first), Some(on_second)) = (on.get(&first), on.get(&second)) else {
        panic!("actors did not spread over {first} and {second}: {on:?}");
    };
    assert!(on_second.len() >= 2, "{on:?}");

    // Force-quit and worker deletion reach a worker on either host (before, a worker's
    // control endpoint listened on its container's loopback, and both failed).
    force_quit_a_run(&api, &on_first[0]).await;
    force_quit_a_run(&api, &on_second[0]).await;
    delete_its_worker(&api, &on_first[0]).await;
    delete_its_worker(&api, &on_second[0]).await;

    // Killing the second host, spawner and workers at once, loses no accepted message.
    let survivor = &on_second[1];
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(send(&api, survivor, "", "text/plain", b"1".to_vec()).await);
    }
    let killed = Command::new("docker")
        .args(["kill", &project.container("spawner2")])
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    for execution in &sent {
        let record: Value = finished(&api, survivor, execution, RUN).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
    }
    eventually(
        RUN,
        "the actor's workers to be on the host left",
        || async {
            let listed = workers(&api, survivor).await;
            (!listed.is_empty() && listed.iter().all(|w| w["hostId"] == first.as_str()))
                .then_some(())
        },
    )
    .await;
    let listed = api
        .get(&format!("/actors/{survivor}/executions"))
        .await
        .unwrap();
    let executions = listed.result()["executions"].as_array().unwrap().clone();
    assert_eq!(executions.len(), 3, "each message once: {executions:?}");
    assert!(project.runs_dir().exists());
}
