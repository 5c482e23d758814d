//! Messages become executions: the container contract, results, exit codes, force-quit and
//! crash recovery, on both backends.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use abaco_tests::{
    Api, BackendKind, Platform, kill_9, on_both_backends,
    steps::{
        ContainerStarts, containers_of, containers_of_worker, eventually, finished, logs_of,
        register, send, workers,
    },
};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_hundred_messages_on_two_workers_run_once_each,
    a_message_runs_with_the_container_contract,
    results_binary_input_and_exit_codes,
    force_quit_ends_a_running_execution,
    a_missing_image_turns_the_actor_error_and_keeps_messages,
    a_synchronous_message_answers_with_what_the_run_produced,
);

async fn a_hundred_messages_on_two_workers_run_once_each(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo", "maxWorkers": 2})).await;
    // Adding workers is for administrators, as in abaco.
    let workers = platform
        .api_as("root")
        .post(&format!("/actors/{actor}/workers"), &json!({"num": 2}))
        .await
        .unwrap();
    assert_eq!(
        workers.ok().as_array().unwrap().len(),
        2,
        "{}",
        workers.text
    );
    let starts = ContainerStarts::watch(&actor);
    // The watcher needs a moment to subscribe before the first container starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = Vec::new();
    for i in 0..100 {
        let message = format!("message-{i}");
        let execution = send(api, &actor, "", "text/plain", message.clone().into_bytes()).await;
        sent.push((execution, message));
    }
    let records = eventually(
        Duration::from_secs(240),
        "100 executions to complete",
        || async {
            let answer = api.get(&format!("/actors/{actor}/executions")).await.ok()?;
            let executions = answer.result()["executions"].as_array()?.clone();
            let done = executions
                .iter()
                .filter(|e| e["status"] == "COMPLETE")
                .count();
            (done == 100).then_some(executions)
        },
    )
    .await;
    assert_eq!(records.len(), 100, "no execution may be added or lost");
    let mut used_workers = std::collections::HashSet::new();
    for (execution, message) in &sent {
        let record = records
            .iter()
            .find(|r| r["id"] == execution.as_str())
            .unwrap();
        used_workers.insert(record["workerId"].as_str().unwrap().to_string());
        let logs = logs_of(api, &actor, execution).await;
        // Each run printed its own message once: run once, with the right input.
        let printed = logs
            .lines()
            .filter(|line| *line == format!("MSG={message}"))
            .count();
        assert_eq!(
            printed, 2,
            "MSG is printed first and again in the environment dump:\n{logs}"
        );
    }
    assert_eq!(
        used_workers.len(),
        2,
        "both workers should take messages: {used_workers:?}"
    );
    // Events arrive a little after the fact.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let starts = starts.stop();
    for (execution, _) in &sent {
        let runs = starts
            .iter()
            .filter(|started| *started == execution)
            .count();
        assert_eq!(runs, 1, "execution {execution} ran {runs} times");
    }
    let pending = api.get(&format!("/actors/{actor}/messages")).await.unwrap();
    assert_eq!(pending.ok()["messages"], 0);
}

async fn a_message_runs_with_the_container_contract(platform: Platform) {
    let api = &platform.api;
    let actor = register(
        api,
        json!({"image": "abaco/sample-echo", "name": "echo", "defaultEnvironment": {"GREETING": "hi", "OVERRIDE": "default"}}),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the actor to turn READY",
        || async {
            let answer = api.get(&format!("/actors/{actor}")).await.ok()?;
            (answer.result()["status"] == "READY").then_some(())
        },
    )
    .await;
    let execution = send(
        api,
        &actor,
        "?OVERRIDE=query&extra=1",
        "application/json",
        br#"{"hello": "world"}"#.to_vec(),
    )
    .await;
    let record = finished(api, &actor, &execution, Duration::from_secs(60)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(record["exitCode"], 0);
    assert!(record["runtime"].as_u64().is_some());
    assert!(record["startTime"].as_str().unwrap() <= record["finishTime"].as_str().unwrap());
    let worker = record["workerId"].as_str().unwrap();
    let logs = logs_of(api, &actor, &execution).await;
    for expected in [
        r#"MSG={"hello": "world"}"#.to_string(),
        format!("_abaco_actor_id={actor}"),
        "_abaco_actor_name=echo".to_string(),
        format!("_abaco_actor_dbid={actor}"),
        format!("_abaco_execution_id={execution}"),
        format!("_abaco_worker_id={worker}"),
        "_abaco_Content_Type=application/json".to_string(),
        "_abaco_username=anonymous".to_string(),
        "_abaco_api_server=http://".to_string(),
        "_abaco_actor_state={}".to_string(),
        "_abaco_container_repo=abaco/sample-echo".to_string(),
        "_abaco_actor_revision=1".to_string(),
        "GREETING=hi".to_string(),
        "OVERRIDE=query".to_string(),
        "extra=1".to_string(),
    ] {
        assert!(
            logs.lines().any(|line| line.starts_with(&expected)),
            "{expected:?} missing from logs:\n{logs}"
        );
    }
    assert!(
        !logs.contains("_abaco_access_token"),
        "no token was asked for:\n{logs}"
    );

    let text = send(api, &actor, "", "text/plain", b"plain words".to_vec()).await;
    finished(api, &actor, &text, Duration::from_secs(60)).await;
    let text_logs = logs_of(api, &actor, &text).await;
    assert!(text_logs.contains("MSG=plain words"), "{text_logs}");
    assert!(text_logs.contains("_abaco_Content_Type=str"), "{text_logs}");

    let summary = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    let summary = summary.ok();
    assert_eq!(summary["totalExecutions"], 2);
    assert!(summary["totalRuntime"].as_u64().is_some());
}

async fn results_binary_input_and_exit_codes(platform: Platform) {
    let api = &platform.api;
    let writer = register(api, json!({"image": "abaco/sample-result"})).await;
    let execution = send(api, &writer, "", "text/plain", b"forty-two".to_vec()).await;
    assert_eq!(
        finished(api, &writer, &execution, Duration::from_secs(60)).await["status"],
        "COMPLETE"
    );
    let results = api
        .get(&format!("/actors/{writer}/executions/{execution}/results"))
        .await
        .unwrap();
    assert_eq!(results.status, 200);
    assert!(
        results.text.contains("forty-two"),
        "results: {:?}",
        results.text
    );

    let reader = register(api, json!({"image": "abaco/sample-binary"})).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let execution = send(
        api,
        &reader,
        "",
        "application/octet-stream",
        payload.clone(),
    )
    .await;
    assert_eq!(
        finished(api, &reader, &execution, Duration::from_secs(60)).await["status"],
        "COMPLETE"
    );
    let printed = logs_of(api, &reader, &execution).await;
    assert!(
        printed.contains("bytes: 10000") || printed.contains("bytes:10000"),
        "{printed}"
    );
    let echoed = api
        .raw(
            Method::GET,
            &format!("/actors/{reader}/executions/{execution}/results"),
            "text/plain",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(echoed.status, 200);

    let exiter = register(api, json!({"image": "abaco/sample-exit"})).await;
    let execution = send(api, &exiter, "", "text/plain", b"3".to_vec()).await;
    let record = finished(api, &exiter, &execution, Duration::from_secs(60)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(record["exitCode"], 3, "{record}");
}

async fn force_quit_ends_a_running_execution(platform: Platform) {
    let api = &platform.api;
    let sleeper = register(api, json!({"image": "abaco/sample-sleep"})).await;
    let execution = send(api, &sleeper, "", "text/plain", b"zzz".to_vec()).await;
    eventually(Duration::from_secs(60), "the execution to run", || async {
        let answer = api
            .get(&format!("/actors/{sleeper}/executions/{execution}"))
            .await
            .ok()?;
        (answer.result()["status"] == "RUNNING").then_some(())
    })
    .await;
    let asked = Instant::now();
    let answer = api
        .delete(&format!("/actors/{sleeper}/executions/{execution}"))
        .await
        .unwrap();
    answer.ok();
    let record = finished(api, &sleeper, &execution, Duration::from_secs(5)).await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    assert!(
        record["statusMessage"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("force"),
        "{record}"
    );
    api.delete(&format!("/actors/{sleeper}/executions/{execution}"))
        .await
        .unwrap()
        .error(409, "finished");
}

async fn a_missing_image_turns_the_actor_error_and_keeps_messages(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/not-built-here:1.0"})).await;
    let status_message = eventually(
        Duration::from_secs(30),
        "the actor to turn ERROR",
        || async {
            let answer = api.get(&format!("/actors/{actor}")).await.ok()?;
            (answer.result()["status"] == "ERROR").then(|| {
                answer.result()["statusMessage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        },
    )
    .await;
    assert!(
        status_message.contains("abaco/not-built-here:1.0"),
        "{status_message}"
    );
    send(api, &actor, "", "text/plain", b"wait for me".to_vec()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pending = api.get(&format!("/actors/{actor}/messages")).await.unwrap();
    assert_eq!(pending.ok()["messages"], 1, "{}", pending.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_process_loses_no_message_and_leaves_no_container() {
    let platform = Platform::start(BackendKind::Distributed).await;
    let api = &platform.api;
    // One worker: the test takes it to be the actor's only one.
    let sleeper = register(api, json!({"image": "abaco/sample-sleep", "maxWorkers": 1})).await;
    let execution = send(api, &sleeper, "", "text/plain", b"5".to_vec()).await;
    eventually(Duration::from_secs(60), "the execution to run", || async {
        let answer = api
            .get(&format!("/actors/{sleeper}/executions/{execution}"))
            .await
            .ok()?;
        (answer.result()["status"] == "RUNNING").then_some(())
    })
    .await;
    let pids = platform.worker_pids(Some(&sleeper));
    assert_eq!(pids.len(), 1, "one worker process expected: {pids:?}");
    let killed = only_worker(api, &sleeper).await;
    let namespace = platform.namespace().to_string();
    // RUNNING is recorded a moment before Docker has the run's container.
    eventually(
        Duration::from_secs(30),
        "the run's container and the worker's network holder",
        || async { (containers_of_worker(&namespace, &killed).len() == 2).then_some(()) },
    )
    .await;
    kill_9(pids[0]);
    let record = finished(api, &sleeper, &execution, Duration::from_secs(90)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    eventually(
        Duration::from_secs(30),
        "the orphaned run and network holder to go",
        || {
            let (namespace, killed) = (namespace.clone(), killed.clone());
            async move {
                (containers_of(&namespace).is_empty()
                    && containers_of_worker(&namespace, &killed).is_empty())
                .then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_of_abaco_up_mid_run_reruns_the_message_and_removes_the_orphan() {
    let mut platform = Platform::start(BackendKind::Embedded).await;
    let api = platform.api.clone();
    // One worker: the test takes it to be the actor's only one.
    let sleeper = register(
        &api,
        json!({"image": "abaco/sample-sleep", "maxWorkers": 1}),
    )
    .await;
    let execution = send(&api, &sleeper, "", "text/plain", b"4".to_vec()).await;
    eventually(Duration::from_secs(60), "the execution to run", || async {
        let answer = api
            .get(&format!("/actors/{sleeper}/executions/{execution}"))
            .await
            .ok()?;
        (answer.result()["status"] == "RUNNING").then_some(())
    })
    .await;
    // RUNNING is recorded when the worker claims the message, a moment before Docker has
    // the container: wait for the container, so the crash leaves a real orphan behind.
    let namespace = platform.namespace().to_string();
    let before = eventually(Duration::from_secs(30), "the run's container", || {
        let namespace = namespace.clone();
        async move { Some(containers_of(&namespace)).filter(|found| !found.is_empty()) }
    })
    .await;
    assert_eq!(before.len(), 1, "{before:?}");
    let crashed = only_worker(&api, &sleeper).await;
    platform.crash_and_restart().await;
    let record = finished(&api, &sleeper, &execution, Duration::from_secs(90)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(&api, &sleeper, &execution).await;
    assert!(logs.contains("slept 4s"), "{logs}");
    eventually(
        Duration::from_secs(30),
        "the orphaned container to go",
        || {
            let namespace = namespace.clone();
            let orphan = before[0].clone();
            let crashed = crashed.clone();
            async move {
                (!containers_of(&namespace).contains(&orphan)
                    && containers_of_worker(&namespace, &crashed).is_empty())
                .then_some(())
            }
        },
    )
    .await;
}

/// The id of the actor's one worker.
async fn only_worker(api: &Api, actor: &str) -> String {
    let found = workers(api, actor).await;
    assert_eq!(found.len(), 1, "one worker expected: {found:?}");
    found[0]["id"].as_str().unwrap_or_default().to_string()
}

async fn a_synchronous_message_answers_with_what_the_run_produced(platform: Platform) {
    let api = &platform.api;
    let echo = register(api, json!({"image": "abaco/sample-echo"})).await;
    let answer = api
        .raw(
            Method::POST,
            &format!("/actors/{echo}/messages?_abaco_synchronous=true"),
            "text/plain",
            b"right now".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains("MSG=right now"),
        "the run's logs: {}",
        answer.text
    );
    assert!(
        !answer.text.contains("_abaco_synchronous"),
        "{}",
        answer.text
    );

    let writer = register(api, json!({"image": "abaco/sample-result"})).await;
    let answer = api
        .raw(
            Method::POST,
            &format!("/actors/{writer}/messages?_abaco_synchronous=true"),
            "text/plain",
            b"forty-two".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains("forty-two"),
        "the run's result: {}",
        answer.text
    );

    api.raw(
        Method::POST,
        &format!("/actors/{echo}/messages?_abaco_synchronous=maybe"),
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .unwrap()
    .error(400, "_abaco_synchronous");
}
