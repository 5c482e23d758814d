//! The worker loop and its control service, with real Docker and in-memory store and
//! mailboxes (tests/common/fakes.rs).

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use abaco::{
    pb::{self, ExecutionStatus, WorkerStatus, worker_control_server::WorkerControl},
    records::{Records, child_key},
    store::Table,
};
use abaco_worker::{
    WorkerContext, WorkerHandle, WorkerSettings, control::WorkerControlService, control_service,
    run_worker,
};
use bytes::Bytes;
use prost::Message;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use common::{
    docker::runner,
    fakes::{MemMailboxes, MemStore},
};

const LIMIT: Duration = Duration::from_secs(60);

/// How long the harness's workers wait for a record that is not in yet.
const RECORD_WAIT: Duration = Duration::from_secs(1);

struct Harness {
    store: Arc<MemStore>,
    records: Records,
    mailboxes: MemMailboxes,
    actor: pb::Actor,
}

impl Harness {
    async fn new(image: &str, change: impl FnOnce(&mut pb::Actor)) -> Self {
        let store = Arc::new(MemStore::default());
        let records = Records::new(store.clone());
        let mut actor = pb::Actor {
            id: abaco::ids::new_id(),
            name: "test".into(),
            image: format!("abaco/{image}"),
            stateless: true,
            revision: 1,
            ..Default::default()
        };
        change(&mut actor);
        records
            .insert(Table::Actors, &actor.id, &actor)
            .await
            .unwrap();
        Self {
            store,
            records,
            mailboxes: MemMailboxes::default(),
            actor,
        }
    }

    async fn start(
        &self,
    ) -> (
        WorkerHandle,
        JoinHandle<Result<(), abaco_worker::WorkerError>>,
        CancellationToken,
    ) {
        let worker = pb::Worker {
            id: abaco::ids::new_id(),
            actor_id: self.actor.id.clone(),
            image: self.actor.image.clone(),
            revision: self.actor.revision,
            ..Default::default()
        };
        // As the fleet does before it starts a worker.
        self.records
            .insert(
                Table::Workers,
                &child_key(&self.actor.id, &worker.id),
                &worker,
            )
            .await
            .unwrap();
        let ctx = WorkerContext::new(
            self.records.clone(),
            Arc::new(self.mailboxes.clone()),
            runner().await,
            worker,
            WorkerSettings {
                api_server: "http://abaco.test".into(),
                retry_backoff: Duration::from_millis(50),
                record_wait: RECORD_WAIT,
                ..Default::default()
            },
        );
        let handle = ctx.handle();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run_worker(ctx, shutdown.clone()));
        (handle, task, shutdown)
    }

    /// Records a SUBMITTED execution (as the messages service does) and returns the message.
    async fn message(&self, body: &[u8], content_type: &str, env: &[(&str, &str)]) -> Bytes {
        let execution_id = abaco::ids::new_id();
        let execution = pb::Execution {
            id: execution_id.clone(),
            actor_id: self.actor.id.clone(),
            status: ExecutionStatus::Submitted.into(),
            message_received_time: abaco::time::now(),
            executor: "alice".into(),
            ..Default::default()
        };
        self.records
            .insert(
                Table::Executions,
                &child_key(&self.actor.id, &execution_id),
                &execution,
            )
            .await
            .unwrap();
        let message = pb::MailboxMessage {
            execution_id,
            actor_id: self.actor.id.clone(),
            body: body.to_vec(),
            content_type: content_type.into(),
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sender: "alice".into(),
            received_time: abaco::time::now(),
            trace_context: Default::default(),
        };
        Bytes::from(message.encode_to_vec())
    }

    async fn send(&self, body: &[u8], content_type: &str, env: &[(&str, &str)]) -> String {
        let bytes = self.message(body, content_type, env).await;
        let id = pb::MailboxMessage::decode(bytes.clone())
            .unwrap()
            .execution_id;
        use abaco::mailbox::Mailboxes;
        self.mailboxes.publish(&self.actor.id, bytes).await.unwrap();
        id
    }

    async fn execution(&self, id: &str) -> pb::Execution {
        self.records
            .get(Table::Executions, &child_key(&self.actor.id, id))
            .await
            .unwrap()
            .unwrap()
    }

    async fn set_execution(&self, id: &str, change: impl Fn(&mut pb::Execution) + Send + Sync) {
        self.records
            .update(
                Table::Executions,
                &child_key(&self.actor.id, id),
                |e: &mut pb::Execution| {
                    change(e);
                    Ok(true)
                },
            )
            .await
            .unwrap();
    }

    /// Waits until the execution is final.
    async fn finished(&self, id: &str) -> pb::Execution {
        tokio::time::timeout(LIMIT, async {
            loop {
                let execution = self.execution(id).await;
                if abaco::status::execution_is_final(execution.status()) {
                    return execution;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("execution did not finish in time")
    }

    /// Waits until the mailbox has settled `n` messages (acked or dropped).
    async fn settled(&self, n: usize) {
        tokio::time::timeout(LIMIT, async {
            loop {
                let c = self.mailboxes.counts(&self.actor.id);
                if c.acked + c.dropped >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("messages were not settled in time");
    }

    fn blob(&self, table: Table, id: &str) -> Option<Bytes> {
        self.store.peek(table, &child_key(&self.actor.id, id))
    }

    async fn worker(&self, handle: &WorkerHandle) -> pb::Worker {
        self.records
            .get(
                Table::Workers,
                &child_key(&self.actor.id, handle.worker_id()),
            )
            .await
            .unwrap()
            .unwrap()
    }
}

/// Waits for a worker that stops on its own, without being asked to.
async fn stopped_by_itself(task: JoinHandle<Result<(), abaco_worker::WorkerError>>) {
    tokio::time::timeout(LIMIT, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

async fn stop(
    task: JoinHandle<Result<(), abaco_worker::WorkerError>>,
    shutdown: CancellationToken,
) {
    shutdown.cancel();
    stopped_by_itself(task).await;
}

#[tokio::test]
async fn a_message_runs_and_is_recorded_before_the_ack() {
    let h = Harness::new("sample-echo", |a| {
        a.default_environment = HashMap::from([
            ("A".into(), "from-actor".into()),
            ("B".into(), "from-actor".into()),
        ]);
        a.log_ex = 60;
    })
    .await;
    let (handle, task, shutdown) = h.start().await;
    let id = h
        .send(b"{\"x\": 1}", "application/json", &[("B", "from-query")])
        .await;

    let at_ack = Arc::new(Mutex::new(Vec::new()));
    {
        let (store, key, at_ack) = (h.store.clone(), child_key(&h.actor.id, &id), at_ack.clone());
        h.mailboxes.on_ack(move || {
            let execution = store.peek(Table::Executions, &key).unwrap();
            let execution = pb::Execution::decode(execution).unwrap();
            let logs = store.peek(Table::Logs, &key).is_some();
            at_ack.lock().unwrap().push((execution.status(), logs));
        });
    }
    let execution = h.finished(&id).await;
    h.settled(1).await;

    assert_eq!(
        execution.status(),
        ExecutionStatus::Complete,
        "{execution:?}"
    );
    assert_eq!(execution.exit_code, Some(0));
    assert_eq!(execution.worker_id, handle.worker_id());
    assert_eq!(
        execution.executor, "alice",
        "the user the message came from"
    );
    assert!(!execution.container_id.is_empty());
    assert!(
        abaco::time::parse(&execution.finish_time) >= abaco::time::parse(&execution.start_time)
    );
    assert_eq!(
        *at_ack.lock().unwrap(),
        vec![(ExecutionStatus::Complete, true)]
    );

    let logs = String::from_utf8(h.blob(Table::Logs, &id).unwrap().to_vec()).unwrap();
    for line in [
        "MSG={\"x\": 1}".to_string(),
        "A=from-actor".into(),
        "B=from-query".into(),
        format!("_abaco_actor_id={}", h.actor.id),
        format!("_abaco_actor_dbid={}", h.actor.id),
        "_abaco_actor_name=test".into(),
        format!("_abaco_execution_id={id}"),
        format!("_abaco_worker_id={}", handle.worker_id()),
        "_abaco_Content_Type=application/json".into(),
        "_abaco_username=alice".into(),
        "_abaco_api_server=http://abaco.test".into(),
        "_abaco_actor_state={}".into(),
        "_abaco_container_repo=abaco/sample-echo".into(),
        "_abaco_actor_revision=1".into(),
    ] {
        assert!(
            logs.contains(&format!("{line}\n")),
            "missing {line} in:\n{logs}"
        );
    }
    assert!(!logs.contains("_abaco_access_token"));
    assert_eq!(
        h.store.ttl(Table::Logs, &child_key(&h.actor.id, &id)),
        Some(Duration::from_secs(60))
    );
    assert_eq!(h.blob(Table::Results, &id).map(|b| b.len()), Some(0));

    let worker = h.worker(&handle).await;
    assert_eq!(worker.status(), WorkerStatus::Ready);
    assert!(!worker.last_execution_time.is_empty());
    let counts = h.mailboxes.counts(&h.actor.id);
    assert_eq!((counts.ready, counts.unacked, counts.acked), (0, 0, 1));
    stop(task, shutdown).await;
    assert_eq!(h.worker(&handle).await.status(), WorkerStatus::ShuttingDown);
}

#[tokio::test]
async fn results_and_exit_codes_are_recorded() {
    let h = Harness::new("sample-result", |_| {}).await;
    let (_handle, task, shutdown) = h.start().await;
    let id = h.send(b"forty-two", "str", &[("RESULT_REPEAT", "2")]).await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.exit_code, Some(0));
    assert_eq!(
        h.blob(Table::Results, &id).unwrap().as_ref(),
        b"forty-twoforty-two"
    );
    stop(task, shutdown).await;

    let h = Harness::new("sample-exit", |_| {}).await;
    let (_handle, task, shutdown) = h.start().await;
    let id = h.send(b"3", "str", &[]).await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    assert_eq!(execution.exit_code, Some(3));
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_removed_worker_record_is_not_written_back() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let (handle, task, shutdown) = h.start().await;
    let key = child_key(&h.actor.id, handle.worker_id());
    // Health checks take a worker for dead and remove its record while it still runs.
    assert!(h.records.delete(Table::Workers, &key).await.unwrap());
    let id = h.send(b"after removal", "str", &[]).await;
    let execution = h.finished(&id).await;
    h.settled(1).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    let worker: Option<pb::Worker> = h.records.get(Table::Workers, &key).await.unwrap();
    assert_eq!(worker, None, "the run wrote the removed record back");
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_binary_message_arrives_through_the_fifo() {
    let h = Harness::new("sample-binary", |_| {}).await;
    let (_handle, task, shutdown) = h.start().await;
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let id = h.send(&data, "application/octet-stream", &[]).await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.exit_code, Some(0));
    assert_eq!(h.blob(Table::Results, &id).unwrap().as_ref(), &data[..]);
    let logs = String::from_utf8(h.blob(Table::Logs, &id).unwrap().to_vec()).unwrap();
    assert!(logs.contains("bytes: 5000"), "{logs}");
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_finished_execution_is_acked_without_running_again() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let bytes = h.message(b"again", "str", &[]).await;
    let id = pb::MailboxMessage::decode(bytes.clone())
        .unwrap()
        .execution_id;
    h.set_execution(&id, |e| {
        e.set_status(ExecutionStatus::Complete);
        e.exit_code = Some(0);
    })
    .await;
    h.mailboxes.publish_redelivered(&h.actor.id, bytes);
    let (_handle, task, shutdown) = h.start().await;
    h.settled(1).await;
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 1);
    assert!(h.blob(Table::Logs, &id).is_none(), "it ran again");
    assert_eq!(h.execution(&id).await.exit_code, Some(0));
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_redelivered_execution_of_a_dead_worker_runs_again() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let bytes = h.message(b"retry", "str", &[]).await;
    let id = pb::MailboxMessage::decode(bytes.clone())
        .unwrap()
        .execution_id;
    h.set_execution(&id, |e| {
        e.set_status(ExecutionStatus::Running);
        e.worker_id = "0deadworker00".into();
    })
    .await;
    h.mailboxes.publish_redelivered(&h.actor.id, bytes);
    let (handle, task, shutdown) = h.start().await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    assert_eq!(execution.worker_id, handle.worker_id());
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_redelivered_copy_waits_while_its_live_owner_runs_and_is_acked_after() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let bytes = h.message(b"lost connection", "str", &[]).await;
    let id = pb::MailboxMessage::decode(bytes.clone())
        .unwrap()
        .execution_id;
    let owner = "0liveowner000";
    h.records
        .insert(
            Table::Workers,
            &child_key(&h.actor.id, owner),
            &pb::Worker {
                id: owner.into(),
                actor_id: h.actor.id.clone(),
                status: pb::WorkerStatus::Busy.into(),
                last_health_check_time: abaco::time::now(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.set_execution(&id, |e| {
        e.set_status(ExecutionStatus::Running);
        e.worker_id = owner.into();
    })
    .await;
    // The broker lost the owner's connection, not the owner: the copy comes back redelivered.
    h.mailboxes.publish_redelivered(&h.actor.id, bytes);
    let (_handle, task, shutdown) = h.start().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let waiting = h.execution(&id).await;
    assert_eq!(
        waiting.worker_id, owner,
        "a live owner's run must not be taken over"
    );
    assert_eq!(
        h.mailboxes.counts(&h.actor.id).acked,
        0,
        "held until the owner records"
    );
    h.set_execution(&id, |e| e.set_status(ExecutionStatus::Complete))
        .await;
    h.settled(1).await;
    let done = h.execution(&id).await;
    assert_eq!(done.worker_id, owner);
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 1);
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_second_copy_of_a_running_execution_is_acked_not_run() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let bytes = h.message(b"copy", "str", &[]).await;
    let id = pb::MailboxMessage::decode(bytes.clone())
        .unwrap()
        .execution_id;
    h.set_execution(&id, |e| {
        e.set_status(ExecutionStatus::Running);
        e.worker_id = "0liveworker00".into();
    })
    .await;
    {
        use abaco::mailbox::Mailboxes;
        h.mailboxes.publish(&h.actor.id, bytes).await.unwrap();
    }
    let (_handle, task, shutdown) = h.start().await;
    h.settled(1).await;
    let execution = h.execution(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Running);
    assert_eq!(execution.worker_id, "0liveworker00");
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 1);
    stop(task, shutdown).await;
}

/// The actor's dead letters.
async fn dead_letters(h: &Harness) -> Vec<pb::DeadLetter> {
    h.records
        .list(Table::DeadLetters, &format!("{}/", h.actor.id))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_undecodable_message_is_put_aside_and_the_worker_goes_on() {
    let h = Harness::new("sample-echo", |_| {}).await;
    {
        use abaco::mailbox::Mailboxes;
        h.mailboxes
            .publish(&h.actor.id, Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]))
            .await
            .unwrap();
    }
    let id = h.send(b"after", "str", &[]).await;
    let (_handle, task, shutdown) = h.start().await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    h.settled(2).await;
    let counts = h.mailboxes.counts(&h.actor.id);
    assert_eq!((counts.dropped, counts.acked), (0, 2));
    let letters = dead_letters(&h).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].message, vec![0xff, 0xff, 0xff, 0xff]);
    assert!(
        letters[0].reason.contains("can read"),
        "{}",
        letters[0].reason
    );
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_message_the_sweep_gave_up_for_gone_still_runs_when_delivered() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let id = h.send(b"late", "str", &[]).await;
    // The sweep ran between the delivery and the claim and took the message for purged.
    let key = child_key(&h.actor.id, &id);
    h.records
        .update(Table::Executions, &key, |e: &mut pb::Execution| {
            e.set_status(ExecutionStatus::Error);
            e.swept = true;
            e.status_message = "the message left the mailbox without running (purged?)".into();
            e.finish_time = abaco::time::now();
            Ok(true)
        })
        .await
        .unwrap();
    let (_handle, task, shutdown) = h.start().await;
    // Acked only once its run is recorded (the record was final all along: wait on the ack).
    h.settled(1).await;
    let execution = h.execution(&id).await;
    assert_eq!(
        execution.status(),
        ExecutionStatus::Complete,
        "{execution:?}"
    );
    assert!(!execution.swept && execution.exit_code == Some(0));
    stop(task, shutdown).await;
}

#[tokio::test]
async fn runs_exiting_with_a_chosen_code_are_tried_again_and_each_try_recorded() {
    let h = Harness::new("sample-exit", |a| {
        a.max_retries = 2;
        a.retry_exit_codes = vec![5];
    })
    .await;
    let (_handle, task, shutdown) = h.start().await;
    let again = h.send(b"5", "str", &[]).await;
    let fine = h.send(b"0", "str", &[]).await;
    let other = h.send(b"7", "str", &[]).await;
    for id in [&again, &fine, &other] {
        h.finished(id).await;
    }
    h.settled(3).await;
    // Three tries in all: two recorded as tried again, the last one is the record.
    let tried = h.execution(&again).await;
    assert_eq!(tried.exit_code, Some(5));
    assert_eq!(tried.attempts.len(), 2, "{tried:?}");
    for attempt in &tried.attempts {
        assert_eq!(attempt.exit_code, Some(5));
        assert!(attempt.status_message.contains("retryExitCodes"));
        assert!(!attempt.start_time.is_empty());
    }
    let logs = String::from_utf8(h.blob(Table::Logs, &again).unwrap().to_vec()).unwrap();
    assert_eq!(logs.matches("exiting with 5").count(), 3, "{logs}");
    assert!(
        logs.contains("try 1 of 3") && logs.contains("try 2 of 3"),
        "{logs}"
    );
    // Other codes, and success, are not tried again.
    assert!(h.execution(&fine).await.attempts.is_empty());
    assert!(h.execution(&other).await.attempts.is_empty());
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_message_without_a_record_is_put_aside_not_dropped() {
    let h = Harness::new("sample-echo", |_| {}).await;
    // Accepted, then its record lost (a store that lost its last writes).
    let lost = h.send(b"lost record", "str", &[]).await;
    h.records
        .delete(Table::Executions, &child_key(&h.actor.id, &lost))
        .await
        .unwrap();
    let after = h.send(b"after", "str", &[]).await;
    let (_handle, task, shutdown) = h.start().await;
    assert_eq!(h.finished(&after).await.status(), ExecutionStatus::Complete);
    h.settled(2).await;
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 2);
    let letters = dead_letters(&h).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.id, lost);
    assert!(letter.reason.contains("without an execution record"));
    assert_eq!(letter.sender, "alice");
    let kept = pb::MailboxMessage::decode(letter.message.as_slice()).unwrap();
    assert_eq!(kept.body, b"lost record");
    assert!(!letter.time.is_empty());
    // It did not run.
    let record: Option<pb::Execution> = h
        .records
        .get(Table::Executions, &child_key(&h.actor.id, &lost))
        .await
        .unwrap();
    assert!(record.is_none());
    stop(task, shutdown).await;
}

/// A message and its SUBMITTED record, as the intake makes them, neither stored yet.
fn unsent(h: &Harness, body: &[u8]) -> (pb::Execution, Bytes) {
    let message = pb::MailboxMessage {
        execution_id: abaco::ids::new_time_ordered_id(),
        actor_id: h.actor.id.clone(),
        body: body.to_vec(),
        content_type: "str".into(),
        sender: "alice".into(),
        received_time: abaco::time::now(),
        ..Default::default()
    };
    let execution = pb::Execution {
        id: message.execution_id.clone(),
        actor_id: h.actor.id.clone(),
        status: ExecutionStatus::Submitted.into(),
        message_received_time: message.received_time.clone(),
        executor: "alice".into(),
        request_digest: abaco::mailbox::message_digest(
            &message.body,
            &message.content_type,
            &message.environment,
        ),
        ..Default::default()
    };
    (execution, Bytes::from(message.encode_to_vec()))
}

#[tokio::test]
async fn a_message_handed_out_before_its_record_is_in_runs_once_the_record_lands() {
    use abaco::mailbox::Mailboxes;
    let h = Harness::new("sample-echo", |_| {}).await;
    let (_handle, task, shutdown) = h.start().await;
    let (execution, message) = unsent(&h, b"record comes second");
    h.mailboxes.publish(&h.actor.id, message).await.unwrap();
    // Well inside the wait, as a record written alongside the publish lands.
    tokio::time::sleep(RECORD_WAIT / 4).await;
    let key = child_key(&h.actor.id, &execution.id);
    h.records
        .insert(Table::Executions, &key, &execution)
        .await
        .unwrap();
    let ran = h.finished(&execution.id).await;
    assert_eq!(ran.status(), ExecutionStatus::Complete);
    h.settled(1).await;
    assert!(dead_letters(&h).await.is_empty());
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_message_published_under_another_messages_id_never_runs_under_its_record() {
    use abaco::mailbox::Mailboxes;
    let h = Harness::new("sample-echo", |_| {}).await;
    let (execution, owner) = unsent(&h, b"the record's own message");
    let key = child_key(&h.actor.id, &execution.id);
    h.records
        .insert(Table::Executions, &key, &execution)
        .await
        .unwrap();
    // Another message whose fresh id came out the same, published before its record was
    // refused: other content, or another sender.
    let stray = |change: &dyn Fn(&mut pb::MailboxMessage)| {
        let mut message = pb::MailboxMessage::decode(owner.clone()).unwrap();
        change(&mut message);
        Bytes::from(message.encode_to_vec())
    };
    for message in [
        stray(&|m| m.body = b"another message".to_vec()),
        stray(&|m| m.sender = "bob".into()),
    ] {
        h.mailboxes.publish(&h.actor.id, message).await.unwrap();
    }
    let (_handle, task, shutdown) = h.start().await;
    h.settled(2).await;
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 2);
    assert_eq!(
        h.execution(&execution.id).await.status(),
        ExecutionStatus::Submitted,
        "neither stray copy ran under the record"
    );
    assert!(dead_letters(&h).await.is_empty());
    h.mailboxes.publish(&h.actor.id, owner).await.unwrap();
    let ran = h.finished(&execution.id).await;
    assert_eq!(ran.status(), ExecutionStatus::Complete);
    let logs = String::from_utf8(h.blob(Table::Logs, &execution.id).unwrap().to_vec()).unwrap();
    assert!(logs.contains("the record's own message"), "{logs}");
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_message_without_a_record_of_an_actor_being_deleted_is_handed_back() {
    use abaco::mailbox::Mailboxes;
    let h = Harness::new("sample-echo", |_| {}).await;
    let (_handle, task, _shutdown) = h.start().await;
    let (_refused, message) = unsent(&h, b"refused: its actor is being deleted");
    h.records
        .update(Table::Actors, &h.actor.id, |a: &mut pb::Actor| {
            a.set_status(pb::ActorStatus::ShuttingDown);
            Ok(true)
        })
        .await
        .unwrap();
    h.mailboxes.publish(&h.actor.id, message).await.unwrap();
    stopped_by_itself(task).await;
    let counts = h.mailboxes.counts(&h.actor.id);
    assert_eq!(
        (counts.ready, counts.acked),
        (1, 0),
        "left for the deletion to remove"
    );
    assert!(dead_letters(&h).await.is_empty());
}

#[tokio::test]
async fn a_missing_image_ends_in_error_and_is_acked() {
    let h = Harness::new("no-such-image:never", |_| {}).await;
    let (_handle, task, shutdown) = h.start().await;
    let id = h.send(b"x", "str", &[]).await;
    let execution = h.finished(&id).await;
    h.settled(1).await;
    assert_eq!(execution.status(), ExecutionStatus::Error);
    assert!(
        execution
            .status_message
            .contains("abaco/no-such-image:never"),
        "{}",
        execution.status_message
    );
    let logs = String::from_utf8(h.blob(Table::Logs, &id).unwrap().to_vec()).unwrap();
    assert!(logs.contains("abaco/no-such-image:never"), "{logs}");
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 1);
    stop(task, shutdown).await;
}

#[tokio::test]
async fn the_actors_max_run_time_is_enforced() {
    let h = Harness::new("sample-sleep", |a| a.max_run_time = 1).await;
    let (_handle, task, shutdown) = h.start().await;
    let id = h.send(b"", "str", &[]).await;
    let execution = h.finished(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    assert!(
        execution.status_message.contains("maximum run time"),
        "{execution:?}"
    );
    assert!(
        (900..10_000).contains(&execution.runtime),
        "{}",
        execution.runtime
    );
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_deleted_actor_stops_the_worker_and_keeps_the_message() {
    let h = Harness::new("sample-echo", |_| {}).await;
    let _id = h.send(b"orphan", "str", &[]).await;
    h.records.delete(Table::Actors, &h.actor.id).await.unwrap();
    let (_handle, task, _shutdown) = h.start().await;
    stopped_by_itself(task).await;
    let counts = h.mailboxes.counts(&h.actor.id);
    assert_eq!((counts.ready, counts.acked, counts.dropped), (1, 0, 0));
}

#[tokio::test]
async fn a_missing_mailbox_is_made_again_for_a_live_actor() {
    let h = Harness::new("sample-echo", |_| {}).await;
    assert!(!h.mailboxes.exists(&h.actor.id));
    let (_handle, task, shutdown) = h.start().await;
    // Made by the worker, before anything was published.
    tokio::time::timeout(LIMIT, async {
        while !h.mailboxes.exists(&h.actor.id) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the worker makes its live actor's missing mailbox");
    let id = h.send(b"after the mailbox came back", "str", &[]).await;
    assert_eq!(h.finished(&id).await.status(), ExecutionStatus::Complete);
    stop(task, shutdown).await;
}

#[tokio::test]
async fn a_worker_of_an_actor_being_deleted_does_not_bring_its_mailbox_back() {
    let h = Harness::new("sample-echo", |a| {
        a.set_status(pb::ActorStatus::ShuttingDown);
    })
    .await;
    let (_handle, task, _shutdown) = h.start().await;
    stopped_by_itself(task).await;
    assert!(!h.mailboxes.exists(&h.actor.id));
}

#[tokio::test]
async fn control_reports_force_quits_and_stops() {
    let h = Harness::new("sample-sleep", |_| {}).await;
    let (handle, task, _shutdown) = h.start().await;
    let control = service(&handle).await;
    let id = h.send(b"", "str", &[]).await;

    tokio::time::timeout(LIMIT, async {
        while handle.current_execution().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let status = control
        .status(tonic::Request::new(pb::WorkerStatusRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.execution_id, id);
    assert_eq!(status.worker.unwrap().status(), WorkerStatus::Busy);
    assert_eq!(h.execution(&id).await.status(), ExecutionStatus::Running);

    let wrong = control
        .force_quit(tonic::Request::new(pb::ForceQuitRequest {
            execution_id: "0nosuchexec00".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::NotFound);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = tokio::time::Instant::now();
    let quit = control
        .force_quit(tonic::Request::new(pb::ForceQuitRequest {
            execution_id: id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(quit.stopped);
    let execution = h.finished(&id).await;
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "force-quit took {:?}",
        asked.elapsed()
    );
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    assert!(
        execution.status_message.contains("force-quit"),
        "{execution:?}"
    );
    assert_eq!(execution.exit_code, Some(137));

    let stopped = control
        .stop(tonic::Request::new(pb::StopRequest { graceful: true }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stopped.worker_id, handle.worker_id());
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_forced_stop_ends_the_current_run_and_the_worker() {
    let h = Harness::new("sample-sleep", |_| {}).await;
    let (handle, task, _shutdown) = h.start().await;
    let id = h.send(b"", "str", &[]).await;
    tokio::time::timeout(LIMIT, async {
        while handle.current_execution().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    handle.stop(false);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let execution = h.execution(&id).await;
    assert_eq!(execution.status(), ExecutionStatus::Complete);
    assert!(execution.status_message.contains("force-quit"));
    assert_eq!(h.mailboxes.counts(&h.actor.id).acked, 1);
}

/// The tonic server wraps the service; tests call the trait methods on the inner value.
async fn service(handle: &WorkerHandle) -> WorkerControlService {
    let _server = control_service(handle.clone(), runner().await, 1024);
    WorkerControlService::new(handle.clone(), runner().await, 1024)
}
