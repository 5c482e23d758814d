//! A send racing its actor's deletion, the interleaving forced: the deletion runs in full
//! between the send's record and its publish. Before the fix the publish brought the mailbox
//! back and the send answered success for a message nobody would ever run; now it answers
//! `NotFound` and leaves neither a message nor a record behind.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::HashMap, sync::Arc};

use abaco::{AbacoError, fleet::NoFleet, mailbox::Mailboxes, pb, records::Records, store::Table};
use abaco_intake::{Incoming, Intake};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;
use common::{DeletedMidSend, When};

/// A redb store and file mailboxes (which keep no records: the intake writes the record
/// itself), in a directory kept as long as the first part lives.
async fn backends() -> (tempfile::TempDir, Records, Arc<FileMailboxes>) {
    let dir = tempfile::tempdir().unwrap();
    let records = Records::new(Arc::new(
        RedbStore::open(&dir.path().join("store")).unwrap(),
    ));
    let file = Arc::new(FileMailboxes::open(&dir.path().join("mail")).await.unwrap());
    (dir, records, file)
}

#[tokio::test]
async fn a_send_racing_the_deletion_of_its_actor_leaves_nothing_and_says_so() {
    let (_dir, records, file) = backends().await;
    let actor = pb::Actor {
        id: "a1".into(),
        status: pb::ActorStatus::Ready.into(),
        ..Default::default()
    };
    records.insert(Table::Actors, "a1", &actor).await.unwrap();
    file.create("a1").await.unwrap();
    let mailboxes = Arc::new(DeletedMidSend::new(
        file.clone(),
        records.clone(),
        When::BeforePublish,
    ));
    let intake = Intake::new(records.clone(), mailboxes, Arc::new(NoFleet));

    let sent = intake
        .accept(Incoming {
            actor_id: "a1".into(),
            body: b"too late".to_vec(),
            content_type: "str".into(),
            environment: HashMap::new(),
            executor: "alice".into(),
            execution_id: None,
            trace_context: HashMap::new(),
        })
        .await;
    assert!(
        matches!(sent, Err(AbacoError::NotFound(_))),
        "a send that lost the race to a deletion must not be accepted: {sent:?}"
    );
    assert_eq!(file.depth("a1").await.unwrap(), 0, "no message left behind");
    let left: Vec<pb::Execution> = records.list(Table::Executions, "a1/").await.unwrap();
    assert!(left.is_empty(), "no record left behind: {left:?}");
}

fn message_to(actor_id: &str) -> Incoming {
    Incoming {
        actor_id: actor_id.into(),
        body: b"after the deletion began".to_vec(),
        content_type: "str".into(),
        executor: "alice".into(),
        ..Default::default()
    }
}

/// A fresh message goes to the mailbox while its record goes in; when the record is refused
/// (the actor is being deleted) the send says the actor is gone and leaves no record. The
/// message went into the mailbox the deletion is about to remove.
#[tokio::test]
async fn a_send_to_an_actor_being_deleted_leaves_no_record() {
    let (_dir, records, file) = backends().await;
    let actor = pb::Actor {
        id: "a1".into(),
        status: pb::ActorStatus::ShuttingDown.into(),
        ..Default::default()
    };
    records.insert(Table::Actors, "a1", &actor).await.unwrap();
    file.create("a1").await.unwrap();
    let intake = Intake::new(records.clone(), file.clone(), Arc::new(NoFleet));
    let sent = intake.accept(message_to("a1")).await;
    assert!(matches!(sent, Err(AbacoError::NotFound(_))), "{sent:?}");
    let left: Vec<pb::Execution> = records.list(Table::Executions, "a1/").await.unwrap();
    assert!(left.is_empty(), "no record left behind: {left:?}");
}

/// An actor deleted in full: the publish that ran alongside the refused record made its
/// mailbox again, and the send removes it.
#[tokio::test]
async fn a_send_to_a_deleted_actor_removes_the_mailbox_its_publish_made() {
    let (_dir, records, file) = backends().await;
    let intake = Intake::new(records.clone(), file.clone(), Arc::new(NoFleet));
    let sent = intake.accept(message_to("gone")).await;
    assert!(matches!(sent, Err(AbacoError::NotFound(_))), "{sent:?}");
    assert_eq!(
        file.depth("gone").await.unwrap(),
        0,
        "no message left behind"
    );
    // Nothing of the mailbox is left either: the next publish into it makes it anew.
    assert_eq!(
        file.publish("gone", bytes::Bytes::from_static(b"x"))
            .await
            .unwrap(),
        abaco::mailbox::Published::Created
    );
}
