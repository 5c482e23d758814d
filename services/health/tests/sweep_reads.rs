//! What a sweep reads: the executions not yet ended, and those accepted before the retention
//! cutoff, never the rest. Many finished executions of an actor cost a sweep nothing until
//! they are due; then they go with their logs, results and index entries, and the open one is
//! still judged.

#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use abaco::{
    execution_index,
    fleet::NoFleet,
    pb,
    records::{Records, child_key},
    store::Table,
};
use abaco_health::{HealthChecker, HealthSettings};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;
use bytes::Bytes;

const FINISHED: usize = 300;

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    abaco::time::format(at)
}

#[tokio::test]
async fn a_sweep_reads_only_open_and_due_executions() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::new(Arc::new(
        RedbStore::open(&dir.path().join("store")).unwrap(),
    ));
    let actor = pb::Actor {
        id: "a1".into(),
        status: pb::ActorStatus::Ready.into(),
        ..Default::default()
    };
    records.insert(Table::Actors, "a1", &actor).await.unwrap();
    records.index_executions_once().await.unwrap();
    let now = chrono::Utc::now();
    let insert = |execution: pb::Execution| {
        let records = records.clone();
        async move {
            records
                .insert_guarded::<_, pb::Actor>(
                    Table::Executions,
                    &child_key("a1", &execution.id),
                    &execution,
                    (Table::Actors, "a1"),
                    &execution_index::entries(&execution),
                )
                .await
                .unwrap()
                .unwrap();
            records
                .put_blob(
                    Table::Logs,
                    &child_key("a1", &execution.id),
                    Bytes::from_static(b"log"),
                    None,
                )
                .await
                .unwrap();
        }
    };
    // Finished an hour ago, accepted in order.
    for n in 0..FINISHED {
        let at = now - chrono::Duration::hours(1) + chrono::Duration::milliseconds(n as i64);
        insert(pb::Execution {
            id: format!("0done{n:08}"),
            actor_id: "a1".into(),
            status: pb::ExecutionStatus::Complete.into(),
            message_received_time: stamp(at),
            finish_time: stamp(at),
            ..Default::default()
        })
        .await;
    }
    // One still waiting, accepted now.
    insert(pb::Execution {
        id: "0waiting00000".into(),
        actor_id: "a1".into(),
        status: pb::ExecutionStatus::Submitted.into(),
        message_received_time: stamp(now),
        ..Default::default()
    })
    .await;

    let mailboxes = Arc::new(FileMailboxes::open(&dir.path().join("mail")).await.unwrap());
    abaco::mailbox::Mailboxes::create(mailboxes.as_ref(), "a1")
        .await
        .unwrap();
    let checker = |retention: Duration| {
        HealthChecker::new(
            records.clone(),
            mailboxes.clone(),
            Arc::new(NoFleet),
            None,
            "test".into(),
            "test".into(),
            HealthSettings {
                retention: Some(retention),
                sweep_batch: 64,
                ..HealthSettings::default()
            },
        )
    };

    // Kept for a day: nothing is due, and only the open execution is read.
    let report = checker(Duration::from_secs(24 * 3600))
        .check_once(true)
        .await
        .unwrap();
    assert_eq!(report.executions_read, 1, "{report:?}");
    assert_eq!(report.expired_executions, 0);
    assert_eq!(
        records.count_executions("a1").await.unwrap(),
        FINISHED as u64 + 1
    );

    // Kept for a minute: the finished ones are due and go, everything of them with them.
    let report = checker(Duration::from_secs(60))
        .check_once(true)
        .await
        .unwrap();
    assert_eq!(report.expired_executions, FINISHED, "{report:?}");
    assert_eq!(report.executions_read, FINISHED + 1, "{report:?}");
    let left = records.executions_page("a1", None, 0, 1000).await.unwrap();
    let ids: Vec<&str> = left.executions.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0waiting00000"]);
    assert_eq!(records.count_executions("a1").await.unwrap(), 1);
    let store = records.store();
    // Only the waiting one's logs are left.
    assert_eq!(store.count_prefix(Table::Logs, "a1/").await.unwrap(), 1);
    assert_eq!(
        store.count_prefix(Table::OpenExecutions, "").await.unwrap(),
        1
    );
}
