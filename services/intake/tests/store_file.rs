//! Accepting with the mailboxes in the store's file: the execution record and its message go
//! in with one commit, both or neither. Nothing is written for an actor that is gone or being
//! deleted; a deletion that runs after the commit still leaves nothing behind; what was
//! accepted survives reopening the file; and the messages of the old mailbox file of its own
//! are moved in without loss.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::HashMap, path::Path, sync::Arc};

use abaco::{
    AbacoError,
    fleet::NoFleet,
    mailbox::{Mailboxes, RecordWrite, Recorded},
    pb,
    records::{Records, child_key},
    store::Table,
};
use abaco_intake::{Incoming, Intake};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;
use bytes::Bytes;
use common::{DeletedMidSend, When};
use prost::Message as _;

fn message(body: &str) -> Incoming {
    Incoming {
        actor_id: "a1".into(),
        body: body.as_bytes().to_vec(),
        content_type: "str".into(),
        environment: HashMap::new(),
        executor: "alice".into(),
        execution_id: None,
        trace_context: HashMap::new(),
    }
}

fn actor(status: pb::ActorStatus) -> pb::Actor {
    pb::Actor {
        id: "a1".into(),
        status: status.into(),
        ..Default::default()
    }
}

/// The store and the mailboxes in its file, under `dir`.
async fn open(dir: &Path) -> (Records, Arc<FileMailboxes>) {
    let store = RedbStore::open(&dir.join("store.redb")).unwrap();
    let mailboxes = Arc::new(FileMailboxes::within(&store, None).await.unwrap());
    (Records::new(Arc::new(store)), mailboxes)
}

async fn executions(records: &Records) -> Vec<pb::Execution> {
    records.list(Table::Executions, "a1/").await.unwrap()
}

/// The next message of actor a1, decoded; it is acked.
async fn take(mailboxes: &FileMailboxes) -> (pb::MailboxMessage, bool) {
    let mut consumer = mailboxes.consume("a1", 1).await.unwrap();
    let delivery = consumer.next().await.unwrap().unwrap();
    let redelivered = delivery.redelivered;
    let decoded = pb::MailboxMessage::decode(delivery.body.clone()).unwrap();
    delivery.ack().await.unwrap();
    (decoded, redelivered)
}

#[tokio::test]
async fn record_and_message_go_in_together_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let accepted = {
        let (records, mailboxes) = open(dir.path()).await;
        records
            .insert(Table::Actors, "a1", &actor(pb::ActorStatus::Ready))
            .await
            .unwrap();
        assert!(mailboxes.keeps_records());
        let intake = Intake::new(records.clone(), mailboxes.clone(), Arc::new(NoFleet));
        let accepted = intake.accept(message("hello")).await.unwrap();
        assert_eq!(mailboxes.depth("a1").await.unwrap(), 1);
        accepted
    };
    // Everything dropped: what was answered accepted must be in the file.
    let (records, mailboxes) = open(dir.path()).await;
    let listed = executions(&records).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, accepted.execution.id);
    assert_eq!(listed[0].status(), pb::ExecutionStatus::Submitted);
    assert_eq!(mailboxes.depth("a1").await.unwrap(), 1);
    let (taken, redelivered) = take(&mailboxes).await;
    assert_eq!(taken.execution_id, accepted.execution.id);
    assert_eq!(taken.body, b"hello");
    assert!(!redelivered);
    // The execution's index entries went in with it: listing by order finds it.
    let ordered = records
        .store()
        .scan(Table::ExecutionOrder, "a1/")
        .await
        .unwrap();
    assert!(
        ordered
            .iter()
            .any(|(key, _)| key.contains(&accepted.execution.id)),
        "{ordered:?}"
    );
}

#[tokio::test]
async fn nothing_is_written_for_an_actor_gone_or_being_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (records, mailboxes) = open(dir.path()).await;
    let intake = Intake::new(records.clone(), mailboxes.clone(), Arc::new(NoFleet));
    let absent = intake.accept(message("nobody")).await;
    assert!(matches!(absent, Err(AbacoError::NotFound(_))), "{absent:?}");
    records
        .insert(Table::Actors, "a1", &actor(pb::ActorStatus::ShuttingDown))
        .await
        .unwrap();
    let deleting = intake.accept(message("too late")).await;
    assert!(
        matches!(deleting, Err(AbacoError::NotFound(_))),
        "{deleting:?}"
    );
    assert!(executions(&records).await.is_empty());
    assert_eq!(mailboxes.depth("a1").await.unwrap(), 0);
}

#[tokio::test]
async fn an_execution_id_taken_already_writes_no_second_message() {
    let dir = tempfile::tempdir().unwrap();
    let (records, mailboxes) = open(dir.path()).await;
    records
        .insert(Table::Actors, "a1", &actor(pb::ActorStatus::Ready))
        .await
        .unwrap();
    let record = |value: &[u8]| RecordWrite {
        table: Table::Executions,
        key: child_key("a1", "e1"),
        value: Bytes::copy_from_slice(value),
        guard: (Table::Actors, "a1".into()),
        admit: |_| true,
        also: Vec::new(),
    };
    let first = mailboxes
        .publish_recorded("a1", Bytes::from_static(b"one"), record(b"first"))
        .await
        .unwrap();
    assert!(matches!(first, Recorded::Published { .. }), "{first:?}");
    let second = mailboxes
        .publish_recorded("a1", Bytes::from_static(b"two"), record(b"second"))
        .await
        .unwrap();
    assert_eq!(second, Recorded::Conflict);
    assert_eq!(mailboxes.depth("a1").await.unwrap(), 1);
    let kept = records
        .store()
        .get(Table::Executions, &child_key("a1", "e1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.value.as_ref(), b"first");
}

#[tokio::test]
async fn a_deletion_right_after_the_commit_leaves_nothing_and_the_send_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (records, file) = open(dir.path()).await;
    records
        .insert(Table::Actors, "a1", &actor(pb::ActorStatus::Ready))
        .await
        .unwrap();
    let mailboxes = Arc::new(DeletedMidSend::new(
        file.clone(),
        records.clone(),
        When::AfterRecordedCommit,
    ));
    let intake = Intake::new(records.clone(), mailboxes, Arc::new(NoFleet));
    let sent = intake.accept(message("raced")).await;
    assert!(matches!(sent, Err(AbacoError::NotFound(_))), "{sent:?}");
    assert_eq!(file.depth("a1").await.unwrap(), 0, "no message left behind");
    assert!(
        executions(&records).await.is_empty(),
        "no record left behind"
    );
    drop((intake, file, records));
    // Nor on disk.
    let (records, file) = open(dir.path()).await;
    assert_eq!(file.depth("a1").await.unwrap(), 0);
    assert!(executions(&records).await.is_empty());
}

#[tokio::test]
async fn messages_of_the_old_mailbox_file_are_moved_in_whole() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("mailboxes.redb");
    {
        let old = FileMailboxes::open(&legacy).await.unwrap();
        for body in ["first", "second"] {
            old.publish("a1", Bytes::from(body)).await.unwrap();
        }
        old.publish("a2", Bytes::from_static(b"other"))
            .await
            .unwrap();
        // Handed out once and not acked: it must come back flagged as redelivered.
        let mut consumer = old.consume("a1", 1).await.unwrap();
        let delivery = consumer.next().await.unwrap().unwrap();
        assert_eq!(delivery.body.as_ref(), b"first");
    }
    let store = RedbStore::open(&dir.path().join("store.redb")).unwrap();
    let moved = FileMailboxes::within(&store, Some(&legacy)).await.unwrap();
    assert!(
        !legacy.exists(),
        "the old file is removed once its messages are in"
    );
    assert_eq!(moved.depth("a1").await.unwrap(), 2);
    assert_eq!(moved.depth("a2").await.unwrap(), 1);
    let mut consumer = moved.consume("a1", 2).await.unwrap();
    let first = consumer.next().await.unwrap().unwrap();
    let second = consumer.next().await.unwrap().unwrap();
    assert_eq!(
        (first.body.as_ref(), first.redelivered),
        (b"first".as_slice(), true)
    );
    assert_eq!(
        (second.body.as_ref(), second.redelivered),
        (b"second".as_slice(), false)
    );
    first.ack().await.unwrap();
    second.ack().await.unwrap();
    // New messages number after the moved ones.
    moved
        .publish("a1", Bytes::from_static(b"third"))
        .await
        .unwrap();
    let third = consumer.next().await.unwrap().unwrap();
    assert_eq!(third.body.as_ref(), b"third");
}
