//! Worker lifecycle: admin API, scaling, updates, deletion and run timeouts, on both
//! backends. Platforms in tests stop workers idle for 3 s (see `tests/src/platform.rs`).

#![allow(clippy::unwrap_used)]

use std::{
    collections::HashSet,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use abaco_tests::{
    Platform, on_both_backends,
    steps::{ContainerStarts, eventually, finished, logs_of, register, running, send, workers},
};
use serde_json::json;

on_both_backends!(
    a_backlog_scales_up_to_max_workers_and_idle_workers_go,
    the_first_message_to_an_actor_scaled_to_zero_starts_a_worker,
    an_update_replaces_workers_and_later_messages_run_on_the_new_image,
    deleting_an_actor_stops_its_workers_and_forgets_it,
    a_run_past_max_run_time_is_stopped_and_says_it_timed_out,
    deleting_a_worker_lets_its_run_finish,
    platform_wide_listings_are_for_admins,
);

async fn a_backlog_scales_up_to_max_workers_and_idle_workers_go(platform: Platform) {
    let api = &platform.api;
    let actor = register(
        api,
        json!({"image": "abaco/sample-sleep", "maxWorkers": 4, "minWorkers": 0}),
    )
    .await;
    let mut sent = Vec::new();
    for _ in 0..50 {
        sent.push(send(api, &actor, "", "text/plain", b"1".to_vec()).await);
    }
    let seen_at_once = AtomicUsize::new(0);
    let records = eventually(
        Duration::from_secs(180),
        "50 executions to complete",
        || async {
            seen_at_once.fetch_max(workers(api, &actor).await.len(), Ordering::Relaxed);
            let answer = api.get(&format!("/actors/{actor}/executions")).await.ok()?;
            let executions = answer.result()["executions"].as_array()?.clone();
            let done = executions
                .iter()
                .filter(|e| e["status"] == "COMPLETE")
                .count();
            (done == 50).then_some(executions)
        },
    )
    .await;
    let used: HashSet<&str> = records
        .iter()
        .filter_map(|e| e["workerId"].as_str())
        .collect();
    assert_eq!(
        used.len(),
        4,
        "the backlog should have run on 4 workers: {used:?}"
    );
    let seen_at_once = seen_at_once.into_inner();
    assert!(
        seen_at_once <= 4,
        "never more than maxWorkers at once, saw {seen_at_once}"
    );
    eventually(
        Duration::from_secs(30),
        "idle workers to be stopped",
        || async { workers(api, &actor).await.is_empty().then_some(()) },
    )
    .await;
}

async fn the_first_message_to_an_actor_scaled_to_zero_starts_a_worker(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo", "minWorkers": 0})).await;
    let answer = api.get(&format!("/actors/{actor}")).await.unwrap();
    assert_eq!(
        answer.ok()["status"],
        "READY",
        "an actor with minWorkers 0 needs no worker to be ready"
    );
    assert!(workers(api, &actor).await.is_empty());
    let execution = send(api, &actor, "", "text/plain", b"wake up".to_vec()).await;
    let record = finished(api, &actor, &execution, Duration::from_secs(30)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert!(
        logs_of(api, &actor, &execution)
            .await
            .contains("MSG=wake up")
    );
}

async fn an_update_replaces_workers_and_later_messages_run_on_the_new_image(platform: Platform) {
    let api = &platform.api;
    let tagged = std::process::Command::new("docker")
        .args(["tag", "abaco/sample-echo:latest", "abaco/sample-echo:v2"])
        .status()
        .unwrap();
    assert!(tagged.success());
    let actor = register(api, json!({"image": "abaco/sample-echo", "maxWorkers": 2})).await;
    let starts = ContainerStarts::watch(&actor);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut before = Vec::new();
    for i in 0..10 {
        before.push(
            send(
                api,
                &actor,
                "",
                "text/plain",
                format!("before-{i}").into_bytes(),
            )
            .await,
        );
    }
    let updated = api
        .put(
            &format!("/actors/{actor}"),
            &json!({"image": "abaco/sample-echo:v2"}),
        )
        .await
        .unwrap();
    assert_eq!(updated.ok()["revision"], 2);
    let mut after = Vec::new();
    for i in 0..10 {
        after.push(
            send(
                api,
                &actor,
                "",
                "text/plain",
                format!("after-{i}").into_bytes(),
            )
            .await,
        );
    }
    for execution in before.iter().chain(&after) {
        let record = finished(api, &actor, execution, Duration::from_secs(120)).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
    }
    for execution in &after {
        let logs = logs_of(api, &actor, execution).await;
        assert!(
            logs.contains("_abaco_container_repo=abaco/sample-echo:v2"),
            "stale image ran:\n{logs}"
        );
        assert!(logs.contains("_abaco_actor_revision=2"), "{logs}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let starts = starts.stop();
    for execution in before.iter().chain(&after) {
        let runs = starts.iter().filter(|s| *s == execution).count();
        assert_eq!(runs, 1, "execution {execution} ran {runs} times");
    }
    eventually(Duration::from_secs(30), "old workers to go", || async {
        let all = workers(api, &actor).await;
        (!all.is_empty() && all.iter().all(|w| w["revision"] == 2)).then_some(())
    })
    .await;
}

async fn deleting_an_actor_stops_its_workers_and_forgets_it(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let execution = send(api, &actor, "", "text/plain", b"hi".to_vec()).await;
    finished(api, &actor, &execution, Duration::from_secs(60)).await;
    assert!(!workers(api, &actor).await.is_empty());
    api.delete(&format!("/actors/{actor}")).await.unwrap().ok();
    api.get(&format!("/actors/{actor}"))
        .await
        .unwrap()
        .error(404, &actor);
    api.post(&format!("/actors/{actor}/messages"), &json!({"late": true}))
        .await
        .unwrap()
        .error(404, &actor);
    api.get(&format!("/actors/{actor}/executions/{execution}"))
        .await
        .unwrap()
        .error(404, &actor);
    let listed = api
        .raw(
            reqwest::Method::GET,
            "/actors/admin/workers",
            "application/json",
            Vec::new(),
        )
        .await
        .unwrap();
    // Not an admin: the platform-wide listing is refused, which the next scenario checks;
    // the actor's own workers are gone with it.
    assert_eq!(listed.status, 403);
}

async fn a_run_past_max_run_time_is_stopped_and_says_it_timed_out(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-sleep", "maxRunTime": 2})).await;
    let execution = send(api, &actor, "", "text/plain", b"forever".to_vec()).await;
    let record = finished(api, &actor, &execution, Duration::from_secs(60)).await;
    let message = record["statusMessage"].as_str().unwrap();
    assert!(message.contains("timed out"), "{record}");
    assert!(record["runtime"].as_u64().unwrap() >= 2000, "{record}");
    assert!(record["runtime"].as_u64().unwrap() < 15_000, "{record}");
}

async fn deleting_a_worker_lets_its_run_finish(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-sleep"})).await;
    let execution = send(api, &actor, "", "text/plain", b"3".to_vec()).await;
    running(api, &actor, &execution, Duration::from_secs(60)).await;
    let worker = api
        .get(&format!("/actors/{actor}/executions/{execution}"))
        .await
        .unwrap()
        .ok()["workerId"]
        .as_str()
        .unwrap()
        .to_string();
    api.delete(&format!("/actors/{actor}/workers/{worker}"))
        .await
        .unwrap()
        .ok();
    let record = finished(api, &actor, &execution, Duration::from_secs(60)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(
        record["exitCode"], 0,
        "the run was allowed to finish: {record}"
    );
    eventually(
        Duration::from_secs(30),
        "the deleted worker to go",
        || async {
            let all = workers(api, &actor).await;
            (!all.iter().any(|w| w["id"] == worker.as_str())).then_some(())
        },
    )
    .await;
}

async fn platform_wide_listings_are_for_admins(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    for path in [
        "/actors/admin",
        "/actors/admin/workers",
        "/actors/admin/executions",
    ] {
        api.get(path).await.unwrap().error(403, "administrators");
        let as_admin = platform.api_as("root").get(path).await.unwrap();
        as_admin.ok();
    }
    let actors = platform.api_as("root").get("/actors/admin").await.unwrap();
    assert!(
        actors
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == actor.as_str())
    );
    let workers = platform
        .api_as("root")
        .get("/actors/admin/workers")
        .await
        .unwrap();
    assert!(
        workers.ok()["summary"]["totalWorkers"].is_u64(),
        "{}",
        workers.text
    );
    let utilization = platform
        .api_as("root")
        .get("/actors/utilization")
        .await
        .unwrap();
    assert!(utilization.ok()["actors"].as_u64().unwrap() >= 1);
}
