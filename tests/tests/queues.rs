//! abaco's `queue` field: an actor's workers start only on spawners serving its queue
//! (`spawner_queues`). With two spawners on one Redis and RabbitMQ, a `gpu` actor's worker is
//! the child of the `gpu` spawner and a default actor's of the default one; an actor whose
//! queue no spawner serves keeps its message waiting until one does.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform,
    steps::{eventually, finished, register, send, workers},
};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(60);

/// The parent process of `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the fields after it do not.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The spawner process whose child runs `actor`'s worker.
async fn spawner_of(platform: &Platform, actor: &str) -> u32 {
    eventually(LIMIT, "the actor's worker process", || async {
        let pids = platform.worker_pids(Some(actor));
        pids.first().and_then(|pid| parent_of(*pid))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_run_on_the_spawners_of_their_queue() {
    let mut platform = Platform::start(BackendKind::Distributed).await;
    let default_spawner = platform.component_pid("spawner").unwrap();
    let gpu_spawner = platform.start_extra_spawner(&[("ABACO_SPAWNER_QUEUES", "[gpu]")]);
    let api = platform.api.clone();

    let plain = register(&api, json!({"image": "abaco/sample-echo"})).await;
    // The suite's default user is privileged, as setting `queue` requires. Should the gpu
    // spawner not have announced itself yet, the health checks start the worker later.
    let gpu = api
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "queue": "gpu"}),
        )
        .await
        .unwrap()
        .id();
    let on_gpu = send(&api, &gpu, "", "text/plain", b"on gpu".to_vec()).await;
    let on_default = send(&api, &plain, "", "text/plain", b"plain".to_vec()).await;
    for (actor, execution) in [(&gpu, &on_gpu), (&plain, &on_default)] {
        let record = finished(&api, actor, execution, LIMIT).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
    }
    assert_eq!(spawner_of(&platform, &gpu).await, gpu_spawner);
    assert_eq!(spawner_of(&platform, &plain).await, default_spawner);

    // No spawner serves `tape`: the message waits, no worker starts...
    let tape = api
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "queue": "tape"}),
        )
        .await
        .unwrap()
        .id();
    let waiting = send(&api, &tape, "", "text/plain", b"later".to_vec()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(workers(&api, &tape).await.is_empty());
    let record = api
        .get(&format!("/actors/{tape}/executions/{waiting}"))
        .await
        .unwrap();
    assert_eq!(record.result()["status"], "SUBMITTED", "{}", record.text);

    // ...until one does, and then it runs there.
    let tape_spawner = platform.start_extra_spawner(&[("ABACO_SPAWNER_QUEUES", "[tape]")]);
    let record = finished(&api, &tape, &waiting, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert_eq!(spawner_of(&platform, &tape).await, tape_spawner);
}
