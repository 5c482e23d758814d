//! The container runner against the real Docker engine and the sample images.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::HashMap, time::Duration};

use abaco_worker::container::{
    EndedBy, LABEL_ACTOR, LABEL_EXECUTION, LABEL_WORKER, RunError, RunOutcome, RunSpec,
};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use common::docker::runner;

/// Upper bound of every test; a hung Docker call fails the test instead of the suite.
const LIMIT: Duration = Duration::from_secs(60);

fn spec(image: &str, msg: &str) -> RunSpec {
    let execution = abaco::ids::new_id();
    RunSpec {
        image: format!("abaco/{image}"),
        env: vec![("MSG".into(), msg.into())],
        labels: HashMap::from([
            (LABEL_ACTOR.to_string(), "test-actor".to_string()),
            (LABEL_WORKER.to_string(), "test-worker".to_string()),
            (LABEL_EXECUTION.to_string(), execution),
        ]),
        log_cap: 64 * 1024,
        results_cap: 1024 * 1024,
        max_run_time: Some(Duration::from_secs(30)),
        ..Default::default()
    }
}

async fn run(spec: RunSpec) -> RunOutcome {
    let runner = runner().await;
    tokio::time::timeout(LIMIT, runner.run(spec, CancellationToken::new()))
        .await
        .expect("run took too long")
        .expect("run failed")
}

async fn containers_labelled(
    runner: &abaco_worker::container::DockerRunner,
    execution: &str,
) -> usize {
    let filters = HashMap::from([("label", vec![format!("{LABEL_EXECUTION}={execution}")])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    runner
        .docker()
        .list_containers(Some(options))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn env_reaches_the_container() {
    let mut spec = spec("sample-echo", "hello world");
    spec.env.push(("_abaco_actor_id".into(), "0abc".into()));
    spec.env.push(("WITH_EQUALS".into(), "a=b c".into()));
    let outcome = run(spec).await;
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.ended_by, EndedBy::Exited);
    assert!(
        outcome.logs.contains("MSG=hello world\n"),
        "{}",
        outcome.logs
    );
    assert!(
        outcome.logs.contains("_abaco_actor_id=0abc\n"),
        "{}",
        outcome.logs
    );
    assert!(
        outcome.logs.contains("WITH_EQUALS=a=b c\n"),
        "{}",
        outcome.logs
    );
    assert!(outcome.finish_time >= outcome.start_time);
    assert!(outcome.runtime_ms < 30_000);
}

#[tokio::test]
async fn exit_code_is_reported() {
    let outcome = run(spec("sample-exit", "3")).await;
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.ended_by, EndedBy::Exited);
    assert!(outcome.logs.contains("exiting with 3"), "{}", outcome.logs);
}

#[tokio::test]
async fn results_datagrams_are_returned() {
    let mut spec = spec("sample-result", "the answer is 42");
    spec.env.push(("RESULT_REPEAT".into(), "3".into()));
    let outcome = run(spec).await;
    assert_eq!(outcome.exit_code, Some(0), "{}", outcome.logs);
    assert_eq!(outcome.results.len(), 3, "{}", outcome.logs);
    assert!(
        outcome
            .results
            .iter()
            .all(|r| r.as_ref() == b"the answer is 42")
    );
}

#[tokio::test]
async fn results_over_the_cap_are_dropped_with_a_notice() {
    let mut spec = spec("sample-result", "0123456789");
    spec.env.push(("RESULT_REPEAT".into(), "5".into()));
    spec.results_cap = 25;
    let outcome = run(spec).await;
    assert_eq!(outcome.results.len(), 2);
    assert!(
        outcome
            .logs
            .contains("[abaco: results truncated at 25 bytes; 30 bytes dropped]"),
        "{}",
        outcome.logs
    );
}

#[tokio::test]
async fn binary_input_round_trips_through_the_fifo() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut spec = spec("sample-binary", "");
    spec.binary_input = Some(Bytes::from(data.clone()));
    let outcome = run(spec).await;
    assert_eq!(outcome.exit_code, Some(0), "{}", outcome.logs);
    assert!(outcome.logs.contains("bytes: 100000\n"), "{}", outcome.logs);
    let back: Vec<u8> = outcome.results.iter().flat_map(|r| r.to_vec()).collect();
    assert_eq!(back, data);
}

#[tokio::test]
async fn a_run_that_never_reads_its_fifo_still_ends() {
    let mut spec = spec("sample-echo", "no reader");
    spec.binary_input = Some(Bytes::from(vec![1u8; 1_000_000]));
    let outcome = run(spec).await;
    assert_eq!(outcome.exit_code, Some(0));
}

#[tokio::test]
async fn force_quit_ends_the_run_within_five_seconds() {
    let runner = runner().await;
    let spec = spec("sample-sleep", "");
    let cancel = CancellationToken::new();
    let began = tokio::time::Instant::now();
    let run = tokio::spawn({
        let runner = runner.clone();
        let cancel = cancel.clone();
        async move { runner.run(spec, cancel).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = tokio::time::Instant::now();
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("force-quit took over 5 s")
        .unwrap()
        .unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome.ended_by, EndedBy::ForceQuit);
    assert_eq!(outcome.exit_code, Some(137));
    assert!(
        outcome.logs.contains("still running after 0s"),
        "{}",
        outcome.logs
    );
    // Docker's own start-to-kill time: real (not zero), and within what the test waited. How
    // much of the 2 s the container ran depends on how long the engine took to start it.
    let waited = u64::try_from(began.elapsed().as_millis()).unwrap();
    assert!(
        outcome.runtime_ms > 0 && outcome.runtime_ms <= waited,
        "runtime {} of {waited} ms",
        outcome.runtime_ms
    );
}

#[tokio::test]
async fn max_run_time_kills_the_container() {
    let mut spec = spec("sample-sleep", "");
    spec.max_run_time = Some(Duration::from_secs(2));
    let outcome = run(spec).await;
    assert_eq!(outcome.ended_by, EndedBy::TimedOut);
    assert!(
        (1_500..10_000).contains(&outcome.runtime_ms),
        "runtime {}",
        outcome.runtime_ms
    );
    assert!(
        outcome.cpu_ns > 0,
        "a 2 s run has at least one stats sample"
    );
}

#[tokio::test]
async fn logs_over_the_cap_end_with_a_notice() {
    let mut spec = spec("sample-echo", &"x".repeat(500));
    spec.log_cap = 100;
    let outcome = run(spec).await;
    assert!(
        outcome
            .logs
            .ends_with("[abaco: log truncated at 100 bytes]\n"),
        "{}",
        outcome.logs
    );
    assert!(outcome.logs.len() < 150);
}

#[tokio::test]
async fn labels_are_present_during_the_run_and_the_container_is_removed_after() {
    let runner = runner().await;
    let spec = spec("sample-sleep", "");
    let execution = spec.labels[LABEL_EXECUTION].clone();
    let cancel = CancellationToken::new();
    let run = tokio::spawn({
        let runner = runner.clone();
        let cancel = cancel.clone();
        async move { runner.run(spec, cancel).await }
    });
    let mut seen = false;
    for _ in 0..50 {
        if containers_labelled(&runner, &execution).await == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    let outcome = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(seen, "no running container carried the execution label");
    let inspect = runner
        .docker()
        .inspect_container(&outcome.container_id, None)
        .await;
    assert!(inspect.is_err(), "container still exists after the run");
    assert_eq!(containers_labelled(&runner, &execution).await, 0);
}

#[tokio::test]
async fn a_missing_image_is_named_in_the_error() {
    let runner = runner().await;
    assert!(
        !runner
            .image_exists("abaco/no-such-image:never")
            .await
            .unwrap()
    );
    assert!(runner.image_exists("abaco/sample-echo").await.unwrap());
    let mut spec = spec("sample-echo", "");
    spec.image = "abaco/no-such-image:never".into();
    let error = tokio::time::timeout(LIMIT, runner.run(spec, CancellationToken::new()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, RunError::ImageNotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("abaco/no-such-image:never"));
}

#[tokio::test]
async fn remove_orphans_removes_only_what_keep_rejects_and_is_old_enough() {
    let runner = runner().await;
    let mut specs = Vec::new();
    let mut runs = Vec::new();
    let cancel = CancellationToken::new();
    let worker = abaco::ids::new_id();
    for _ in 0..2 {
        let mut spec = spec("sample-sleep", "");
        spec.labels.insert(LABEL_WORKER.into(), worker.clone());
        specs.push(spec.labels[LABEL_EXECUTION].clone());
        let runner = runner.clone();
        let cancel = cancel.clone();
        runs.push(tokio::spawn(async move { runner.run(spec, cancel).await }));
    }
    // Both must exist before anything is judged (a loaded engine takes its time).
    for execution in &specs {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while containers_labelled(&runner, execution).await != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "container of {execution} never appeared"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let keep = specs[0].clone();
    let filters = [format!("{LABEL_WORKER}={worker}")];
    let young = runner
        .remove_orphans(&filters, Duration::from_secs(600), |_| false)
        .await
        .unwrap();
    assert_eq!(young, 0, "containers younger than min_age are left alone");
    assert_eq!(containers_labelled(&runner, &specs[1]).await, 1);
    let removed = runner
        .remove_orphans(&filters, Duration::ZERO, |labels| {
            labels.get(LABEL_EXECUTION) == Some(&keep)
        })
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(containers_labelled(&runner, &specs[0]).await, 1);
    assert_eq!(containers_labelled(&runner, &specs[1]).await, 0);
    cancel.cancel();
    for run in runs {
        // The removed one may end in an error (its container vanished); neither may hang.
        let _ = tokio::time::timeout(LIMIT, run).await.unwrap();
    }
}
