//! An idempotent accept against the embedded store and mailbox, with the interleavings a
//! crash or a failing broker leaves behind set up by hand: a repeat never answers for a
//! message that is not in the mailbox, and a first sender taking back its record never takes
//! one a repeat queued. Each case runs with mailboxes of their own file (record, then
//! message) and with mailboxes in the store's file (both in one commit).

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, sync::Arc};

use abaco::{
    fleet::NoFleet,
    ids,
    mailbox::Mailboxes,
    pb,
    records::{Records, child_key},
    store::Table,
};
use abaco_intake::{Incoming, Intake};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;

struct Fixture {
    _dir: tempfile::TempDir,
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    intake: Intake,
}

/// `in_store`: the mailboxes live in the store's file.
async fn fixture(in_store: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("store")).unwrap();
    let mailboxes: Arc<dyn Mailboxes> = if in_store {
        Arc::new(FileMailboxes::within(&store, None).await.unwrap())
    } else {
        Arc::new(FileMailboxes::open(&dir.path().join("mail")).await.unwrap())
    };
    let records = Records::new(Arc::new(store));
    let actor = pb::Actor {
        id: "a1".into(),
        status: pb::ActorStatus::Ready.into(),
        ..Default::default()
    };
    records.insert(Table::Actors, "a1", &actor).await.unwrap();
    mailboxes.create("a1").await.unwrap();
    let intake = Intake::new(records.clone(), mailboxes.clone(), Arc::new(NoFleet));
    Fixture {
        _dir: dir,
        records,
        mailboxes,
        intake,
    }
}

fn keyed(key: &str) -> Incoming {
    Incoming {
        actor_id: "a1".into(),
        body: b"hello".to_vec(),
        content_type: "str".into(),
        environment: HashMap::new(),
        executor: "alice".into(),
        execution_id: Some(ids::derived_id(key)),
        trace_context: HashMap::new(),
    }
}

async fn execution(f: &Fixture, id: &str) -> Option<pb::Execution> {
    f.records
        .get(Table::Executions, &child_key("a1", id))
        .await
        .unwrap()
}

async fn a_repeat_answers_the_first_execution_and_queues_nothing_more(f: Fixture) {
    let (first, repeated) = f.intake.accept_once(keyed("k1")).await.unwrap();
    assert!(!repeated);
    assert!(execution(&f, &first.execution.id).await.unwrap().queued);
    let (again, repeated) = f.intake.accept_once(keyed("k1")).await.unwrap();
    assert!(repeated);
    assert_eq!(again.execution.id, first.execution.id);
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 1);
    let (other, repeated) = f.intake.accept_once(keyed("k2")).await.unwrap();
    assert!(!repeated);
    assert_ne!(other.execution.id, first.execution.id);
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 2);
}

async fn a_repeat_queues_the_message_a_dead_first_sender_left_unqueued(f: Fixture) {
    // The first sender wrote the record and died before the mailbox took the message.
    let id = ids::derived_id("k1");
    let orphan = pb::Execution {
        id: id.clone(),
        actor_id: "a1".into(),
        status: pb::ExecutionStatus::Submitted.into(),
        ..Default::default()
    };
    f.records
        .insert(Table::Executions, &child_key("a1", &id), &orphan)
        .await
        .unwrap();
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 0);

    let (accepted, repeated) = f.intake.accept_once(keyed("k1")).await.unwrap();
    assert!(repeated);
    assert_eq!(accepted.execution.id, id);
    // Answered 2xx only with the message in the mailbox, and marked so.
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 1);
    assert!(execution(&f, &id).await.unwrap().queued);
    // Settled: a further repeat adds nothing.
    f.intake.accept_once(keyed("k1")).await.unwrap();
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 1);
}

async fn a_first_sender_taking_back_keeps_a_record_a_repeat_queued(f: Fixture) {
    let id = ids::derived_id("k1");
    let key = child_key("a1", &id);
    let written = pb::Execution {
        id: id.clone(),
        actor_id: "a1".into(),
        status: pb::ExecutionStatus::Submitted.into(),
        ..Default::default()
    };
    f.records
        .insert(Table::Executions, &key, &written)
        .await
        .unwrap();
    // A repeat queues it while the first sender's publish is failing...
    f.intake.accept_once(keyed("k1")).await.unwrap();
    // ...so the first sender's take-back (delete only while unchanged) must leave it.
    let removed = f
        .records
        .delete_if_unchanged(Table::Executions, &key, &written)
        .await
        .unwrap();
    assert!(!removed);
    assert!(execution(&f, &id).await.is_some());
    // Unchanged, it does go.
    let current = execution(&f, &id).await.unwrap();
    assert!(
        f.records
            .delete_if_unchanged(Table::Executions, &key, &current)
            .await
            .unwrap()
    );
}

async fn concurrent_repeats_accept_one_message(f: Fixture) {
    let sends = (0..8).map(|_| f.intake.accept_once(keyed("k1")));
    let answers = futures::future::join_all(sends).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|answer| answer.as_ref().unwrap().0.execution.id.clone())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let firsts = answers
        .iter()
        .filter(|answer| !answer.as_ref().unwrap().1)
        .count();
    assert_eq!(firsts, 1);
    // At least one copy queued; extra copies of one execution run once (the worker's claim).
    assert!(f.mailboxes.depth("a1").await.unwrap() >= 1);
    let listed: Vec<pb::Execution> = f.records.list(Table::Executions, "a1/").await.unwrap();
    assert_eq!(listed.len(), 1);
}

async fn a_key_used_again_for_another_message_is_refused(f: Fixture) {
    let (first, _) = f.intake.accept_once(keyed("k1")).await.unwrap();
    let mut other = keyed("k1");
    other.body = b"something else".to_vec();
    let refused = f.intake.accept_once(other).await;
    assert!(
        matches!(&refused, Err(abaco::AbacoError::Conflict(why)) if why.contains("another message")),
        "{refused:?}"
    );
    let mut other_env = keyed("k1");
    other_env.environment.insert("X".into(), "1".into());
    assert!(f.intake.accept_once(other_env).await.is_err());
    // The same message again is still the first execution.
    let (again, repeated) = f.intake.accept_once(keyed("k1")).await.unwrap();
    assert!(repeated);
    assert_eq!(again.execution.id, first.execution.id);
    assert_eq!(f.mailboxes.depth("a1").await.unwrap(), 1);
}

/// Each case as two tests: mailboxes in a file of their own, and in the store's file.
macro_rules! on_both_layouts {
    ($($case:ident),* $(,)?) => {
        mod own_file {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::fixture(false).await).await;
            })*
        }
        mod store_file {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::fixture(true).await).await;
            })*
        }
    };
}

on_both_layouts!(
    a_repeat_answers_the_first_execution_and_queues_nothing_more,
    a_repeat_queues_the_message_a_dead_first_sender_left_unqueued,
    a_first_sender_taking_back_keeps_a_record_a_repeat_queued,
    concurrent_repeats_accept_one_message,
    a_key_used_again_for_another_message_is_refused,
);
