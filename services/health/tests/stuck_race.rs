//! The stuck-execution sweep against a live worker's claim, the interleaving forced: between
//! the sweep's read of a RUNNING record (its worker dead) and its write, a live worker claims
//! the record (its message came back). The sweep compared only the status and ended a run in
//! progress ERROR; it must leave the new owner's record alone.

#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use abaco::{
    fleet::NoFleet,
    pb,
    records::{Records, child_key},
    store::Table,
};
use abaco_health::{HealthChecker, HealthSettings};
use abaco_mailbox::FileMailboxes;
use abaco_store::{
    RedbStore,
    interleave::{Interleaved, Interleaving},
};
use bytes::Bytes;

#[tokio::test]
async fn the_sweep_leaves_a_run_a_live_worker_claimed_meanwhile() {
    use prost::Message;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Interleaved::new(
        RedbStore::open(&dir.path().join("store")).unwrap(),
    ));
    let records = Records::new(store.clone());
    let actor = pb::Actor {
        id: "a1".into(),
        status: pb::ActorStatus::Ready.into(),
        min_workers: 0,
        ..Default::default()
    };
    records.insert(Table::Actors, "a1", &actor).await.unwrap();
    let now = records.now_stamp().await.unwrap();
    // The live worker that will claim the run (beating now); the old owner has no record.
    let live = pb::Worker {
        id: "0liveworker00".into(),
        actor_id: "a1".into(),
        status: pb::WorkerStatus::Busy.into(),
        create_time: now.clone(),
        last_health_check_time: now,
        ..Default::default()
    };
    records
        .insert(Table::Workers, &child_key("a1", &live.id), &live)
        .await
        .unwrap();
    let key = child_key("a1", "0execution000");
    let stranded = pb::Execution {
        id: "0execution000".into(),
        actor_id: "a1".into(),
        worker_id: "0deadworker00".into(),
        status: pb::ExecutionStatus::Running.into(),
        message_received_time: "2026-01-01T00:00:00.000Z".into(),
        start_time: "2026-01-01T00:00:01.000Z".into(),
        ..Default::default()
    };
    records
        .insert(Table::Executions, &key, &stranded)
        .await
        .unwrap();
    let claimed = pb::Execution {
        worker_id: live.id.clone(),
        start_time: "2026-12-01T00:00:00.000Z".into(),
        ..stranded.clone()
    };
    // The live worker's claim lands between the sweep's read and its write.
    store.arm(
        Table::Executions,
        Interleaving::WrittenBefore {
            key: key.clone(),
            value: Bytes::from(claimed.encode_to_vec()),
        },
    );

    let mailboxes = Arc::new(FileMailboxes::open(&dir.path().join("mail")).await.unwrap());
    abaco::mailbox::Mailboxes::create(mailboxes.as_ref(), "a1")
        .await
        .unwrap();
    let checker = HealthChecker::new(
        records.clone(),
        mailboxes,
        Arc::new(NoFleet),
        None,
        "test".into(),
        "test".into(),
        HealthSettings {
            stuck_after: Duration::ZERO,
            ..HealthSettings::default()
        },
    );
    let report = checker.check_once(true).await.unwrap();

    let after: pb::Execution = records.get(Table::Executions, &key).await.unwrap().unwrap();
    assert_eq!(
        (after.status(), after.worker_id.as_str()),
        (pb::ExecutionStatus::Running, live.id.as_str()),
        "the live worker's run must stand: {after:?}"
    );
    assert_eq!(report.stuck_executions, 0);
}
