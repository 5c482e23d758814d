//! One run end to end over the embedded backends (redb store, file mailboxes).

#![allow(clippy::unwrap_used)]

mod common;

use std::{sync::Arc, time::Duration};

use abaco::{
    mailbox::Mailboxes,
    pb::{self, ExecutionStatus},
    records::{Records, child_key},
    store::Table,
};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;
use abaco_worker::{WorkerContext, WorkerSettings, run_worker};
use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_message_runs_over_the_embedded_backends() {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::new(Arc::new(
        RedbStore::open(&dir.path().join("store.redb")).unwrap(),
    ));
    let mailboxes = Arc::new(
        FileMailboxes::open(&dir.path().join("mailboxes.redb"))
            .await
            .unwrap(),
    );
    let actor = pb::Actor {
        id: abaco::ids::new_id(),
        image: "abaco/sample-echo".into(),
        stateless: true,
        ..Default::default()
    };
    records
        .insert(Table::Actors, &actor.id, &actor)
        .await
        .unwrap();
    mailboxes.create(&actor.id).await.unwrap();
    let execution_id = abaco::ids::new_id();
    let key = child_key(&actor.id, &execution_id);
    let execution = pb::Execution {
        id: execution_id.clone(),
        actor_id: actor.id.clone(),
        status: ExecutionStatus::Submitted.into(),
        ..Default::default()
    };
    records
        .insert(Table::Executions, &key, &execution)
        .await
        .unwrap();
    let message = pb::MailboxMessage {
        execution_id: execution_id.clone(),
        actor_id: actor.id.clone(),
        body: b"embedded".to_vec(),
        content_type: "str".into(),
        ..Default::default()
    };
    mailboxes
        .publish(&actor.id, Bytes::from(message.encode_to_vec()))
        .await
        .unwrap();

    let worker = pb::Worker {
        id: abaco::ids::new_id(),
        actor_id: actor.id.clone(),
        revision: actor.revision,
        ..Default::default()
    };
    let ctx = WorkerContext::new(
        records.clone(),
        mailboxes.clone(),
        common::docker::runner().await,
        worker,
        WorkerSettings::default(),
    );
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_worker(ctx, shutdown.clone()));

    let done = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let e: pb::Execution = records.get(Table::Executions, &key).await.unwrap().unwrap();
            if e.status() == ExecutionStatus::Complete {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("execution did not complete");
    assert_eq!(done.exit_code, Some(0));
    let logs = records.get_blob(Table::Logs, &key).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&logs).contains("MSG=embedded"));

    // The ack follows the record; give it a moment, then nothing may be left in the mailbox.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(mailboxes.depth(&actor.id).await.unwrap(), 0);
}
