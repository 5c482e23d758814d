//! The worker's writes to the store: claiming an execution, finishing it, and its own record.

use std::{future::Future, time::Duration};

use backon::{ExponentialBuilder, Retryable};

use abaco::{
    AbacoError,
    mailbox::message_digest,
    pb,
    pb::{ExecutionStatus, WorkerStatus},
    records::{Records, child_key},
    store::Table,
    time,
};

/// How a store write that guards an ack is retried through transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persist {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Pause before the second attempt; doubled before each one after.
    pub first_pause: Duration,
}

impl Default for Persist {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_pause: Duration::from_millis(200),
        }
    }
}

/// What to do with a delivered execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// It is ours to run now; the record as claimed.
    Run(Box<pb::Execution>),
    /// It already ended (a redelivery after success): ack without running. The record as it
    /// ended.
    Finished(Box<pb::Execution>),
    /// Another live worker runs it from another copy of the message: ack this copy.
    Duplicate,
    /// A live worker still runs it, though the broker handed this copy out again (its
    /// connection was lost, not the worker): hold this copy and look again later.
    Wait,
    /// No record: not in yet (a fresh message is published while its record goes in), or
    /// never (its sender got an error), so it must not run now.
    Unaccepted,
    /// The record is another message's: this one was published under an execution id that
    /// turned out to be taken, and its sender sent it again under another. Ack, never run.
    OtherMessage,
}

/// Whether the actor `actor_id` exists and is not being deleted.
pub async fn actor_takes_messages(records: &Records, actor_id: &str) -> abaco::Result<bool> {
    match records.actor(actor_id).await {
        Ok(actor) => Ok(actor.status() != pb::ActorStatus::ShuttingDown),
        Err(AbacoError::NotFound(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Whether `execution` records `message`, as far as it can tell: the same sender and, where the
/// record keeps one, the same digest. Records written before digests were kept pass.
fn is_its_message(execution: &pb::Execution, message: &pb::MailboxMessage) -> bool {
    let same_sender = execution.executor.is_empty()
        || message.sender.is_empty()
        || execution.executor == message.sender;
    let same_content = execution.request_digest.is_empty()
        || execution.request_digest
            == message_digest(&message.body, &message.content_type, &message.environment);
    same_sender && same_content
}

/// Whether the worker `worker_id` of `actor_id` is alive: recorded, not in error, and beating
/// within `timeout` by the store's clock.
async fn is_alive(
    records: &Records,
    actor_id: &str,
    worker_id: &str,
    timeout: Duration,
) -> abaco::Result<bool> {
    let worker: Option<pb::Worker> = records
        .get(Table::Workers, &child_key(actor_id, worker_id))
        .await?;
    let Some(worker) = worker else {
        return Ok(false);
    };
    let now = records.now().await?;
    let fresh = !time::older_than_at(&worker.last_health_check_time, timeout, now);
    Ok(worker.status() != WorkerStatus::Error && fresh)
}

/// Moves the execution to RUNNING under `worker_id`, by compare-and-set.
///
/// A RUNNING execution of another worker is taken over only when this delivery was handed
/// out before (`redelivered`) AND that worker is dead. A redelivery while the owner lives (the
/// broker lost its connection, not its worker) must wait, or the message would run twice at
/// once. A copy that was never redelivered is a second copy: the owner settles its own, and
/// acking ours loses nothing.
pub async fn claim(
    records: &Records,
    message: &pb::MailboxMessage,
    worker_id: &str,
    redelivered: bool,
    liveness_timeout: Duration,
    persist: Persist,
) -> abaco::Result<Claim> {
    let key = child_key(&message.actor_id, &message.execution_id);
    let Some(current) = records
        .get::<pb::Execution>(Table::Executions, &key)
        .await?
    else {
        return Ok(Claim::Unaccepted);
    };
    if !is_its_message(&current, message) {
        return Ok(Claim::OtherMessage);
    }
    let other_owner = (current.status() == ExecutionStatus::Running
        && current.worker_id != worker_id)
        .then(|| current.worker_id.clone());
    let owner_alive = match &other_owner {
        Some(owner) if redelivered => {
            is_alive(records, &message.actor_id, owner, liveness_timeout).await?
        }
        _ => false,
    };
    // Set by the last attempt of the compare-and-set loop, the one that counted.
    let mut verdict = Claim::Unaccepted;
    let updated = records
        .update(
            Table::Executions,
            &key,
            |execution: &mut pb::Execution| match execution.status() {
                // The sweep gave its message up for gone, and here it is: run it after all.
                ExecutionStatus::Error if execution.swept => {
                    execution.swept = false;
                    mark_running(execution, worker_id);
                    verdict = Claim::Run(Box::default());
                    Ok(true)
                }
                ExecutionStatus::Complete | ExecutionStatus::Error => {
                    verdict = Claim::Finished(Box::default());
                    Ok(false)
                }
                ExecutionStatus::Running if execution.worker_id != worker_id && !redelivered => {
                    verdict = Claim::Duplicate;
                    Ok(false)
                }
                ExecutionStatus::Running
                    if execution.worker_id != worker_id
                        && (owner_alive
                            || other_owner.as_deref() != Some(&execution.worker_id)) =>
                {
                    // Alive, or a new owner since we looked: decide again later.
                    verdict = Claim::Wait;
                    Ok(false)
                }
                _ => {
                    mark_running(execution, worker_id);
                    verdict = Claim::Run(Box::default());
                    Ok(true)
                }
            },
        )
        .await;
    match updated {
        Ok(execution) => Ok(match verdict {
            Claim::Run(_) => Claim::Run(Box::new(execution)),
            Claim::Finished(_) => Claim::Finished(Box::new(execution)),
            other => other,
        }),
        Err(AbacoError::NotFound(_)) => Ok(Claim::Unaccepted),
        // The write may have been applied with only its answer lost. Left so, the record
        // would name this worker, alive, as the runner of a message it gave back, and another
        // worker handed the message would wait on it forever: look, and run it if it is ours.
        Err(error @ AbacoError::Unavailable(_)) => {
            let current = persist
                .run(|| records.get::<pb::Execution>(Table::Executions, &key))
                .await;
            match current {
                Ok(Some(execution))
                    if execution.status() == ExecutionStatus::Running
                        && execution.worker_id == worker_id =>
                {
                    tracing::info!(execution = %execution.id, "claim applied though its answer was lost; running it");
                    Ok(Claim::Run(Box::new(execution)))
                }
                _ => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

fn mark_running(execution: &mut pb::Execution, worker_id: &str) {
    execution.set_status(ExecutionStatus::Running);
    // `executor` stays the user the message was accepted from, as abaco has it.
    execution.worker_id = worker_id.to_string();
    execution.start_time = time::now();
    execution.finish_time.clear();
    execution.status_message.clear();
}

/// Writes the final figures unless the execution already ended (another worker that took it
/// over finished first; its record stands). The final record.
pub async fn finish(
    records: &Records,
    actor_id: &str,
    execution_id: &str,
    persist: Persist,
    apply: impl Fn(&mut pb::Execution) + Send + Sync,
) -> abaco::Result<pb::Execution> {
    let key = child_key(actor_id, execution_id);
    // Whether the last attempt of the update was the one that finished the record: retries
    // re-run the closure, and a record already final must not be counted again.
    let finished_here = std::sync::atomic::AtomicBool::new(false);
    let record = persist
        .run(|| {
            records.update(Table::Executions, &key, |execution: &mut pb::Execution| {
                let open = !abaco::status::execution_is_final(execution.status());
                finished_here.store(open, std::sync::atomic::Ordering::Relaxed);
                if open {
                    apply(execution);
                }
                Ok(open)
            })
        })
        .await?;
    if abaco::status::execution_is_final(record.status()) && !record.swept {
        // Best effort: the sweep drops an entry left behind when it next reads it.
        if let Err(error) = records.close_execution(actor_id, execution_id).await {
            tracing::warn!(execution = %execution_id, %error, "ended execution still listed as open");
        }
    }
    if finished_here.load(std::sync::atomic::Ordering::Relaxed) {
        metrics::counter!(
            abaco::metrics::EXECUTIONS_FINISHED,
            "status" => abaco::status::execution(record.status())
        )
        .increment(1);
        metrics::histogram!(abaco::metrics::RUN_DURATION)
            .record(Duration::from_millis(record.runtime).as_secs_f64());
    }
    Ok(record)
}

/// Sets the worker's status, the container of the run in progress (`""`: none) and, when
/// given, the last execution time. Best effort: the worker record is bookkeeping, a failure
/// to write it must not fail a run, so it is logged.
pub async fn set_worker_status(
    records: &Records,
    snapshot: &pb::Worker,
    status: WorkerStatus,
    last_execution_time: Option<String>,
    container: &str,
) {
    let key = child_key(&snapshot.actor_id, &snapshot.id);
    let updated = records
        .update(Table::Workers, &key, |worker: &mut pb::Worker| {
            worker.set_status(status);
            container.clone_into(&mut worker.cid);
            if let Some(at) = &last_execution_time {
                worker.last_execution_time = at.clone();
            }
            Ok(true)
        })
        .await;
    match updated {
        Ok(_) => {}
        // Removed by health checks or a kill: writing it back would bring a dead worker back
        // to life. The heartbeat sees the record gone and stops this worker.
        Err(AbacoError::NotFound(_)) => {
            tracing::info!(worker = %key, "worker record is gone; not recreating it");
        }
        Err(error) => {
            tracing::warn!(worker = %key, %error, "could not record the worker's status");
        }
    }
}

/// Why a message without an execution record is put aside: it cannot be told apart from one
/// the store lost, so it is not dropped.
pub const NO_RECORD: &str = "delivered without an execution record: either its sender was told it failed (and may have sent it again), or the store lost the record after accepting it (Redis without appendfsync always); replay it if it should run";

/// Puts a delivered message aside as a dead letter of its actor, under `id` (its execution
/// id), with `reason`; the store's time. Retried like every write that guards an ack.
pub async fn dead_letter(
    records: &Records,
    actor_id: &str,
    id: &str,
    reason: &str,
    raw: &[u8],
    message: Option<&pb::MailboxMessage>,
    persist: Persist,
) -> abaco::Result<()> {
    let time = records.now_stamp().await.unwrap_or_else(|_| time::now());
    let letter = pb::DeadLetter {
        id: id.to_owned(),
        actor_id: actor_id.to_owned(),
        reason: reason.to_owned(),
        time,
        message: raw.to_vec(),
        content_type: message.map(|m| m.content_type.clone()).unwrap_or_default(),
        sender: message.map(|m| m.sender.clone()).unwrap_or_default(),
        size: message.map_or(raw.len(), |m| m.body.len()) as u64,
    };
    let key = child_key(actor_id, id);
    persist
        .run(|| records.save(Table::DeadLetters, &key, &letter))
        .await?;
    metrics::counter!(abaco::metrics::DEAD_LETTERS).increment(1);
    Ok(())
}

impl Persist {
    /// Runs `write`, again after growing pauses while it fails transiently (the store is
    /// unavailable, or a concurrent change won), up to `attempts` in all.
    pub async fn run<T, F, Fut>(self, write: F) -> abaco::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = abaco::Result<T>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.first_pause)
            .with_factor(2.0)
            .without_max_delay()
            .with_max_times(self.attempts.saturating_sub(1) as usize);
        write
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|error| matches!(error, AbacoError::Unavailable(_) | AbacoError::Conflict(_)))
            .notify(|error, pause| {
                tracing::warn!(%error, ?pause, "store write failed; retrying");
            })
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use abaco_store::{
        RedbStore,
        interleave::{Interleaved, Interleaving},
    };

    use super::*;

    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_run_by_its_worker() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Interleaved::new(
            RedbStore::open(&dir.path().join("store")).unwrap(),
        ));
        let records = Records::new(store.clone());
        let execution = pb::Execution {
            id: "0execution000".into(),
            actor_id: "a1".into(),
            status: ExecutionStatus::Submitted.into(),
            ..Default::default()
        };
        records
            .insert(
                Table::Executions,
                &child_key("a1", &execution.id),
                &execution,
            )
            .await
            .unwrap();
        let message = pb::MailboxMessage {
            execution_id: execution.id.clone(),
            actor_id: "a1".into(),
            ..Default::default()
        };
        // The claim's write is applied, its answer lost.
        store.arm(Table::Executions, Interleaving::AnswerLost);
        let claimed = claim(
            &records,
            &message,
            "0worker000000",
            false,
            Duration::from_secs(10),
            Persist::default(),
        )
        .await
        .unwrap();
        match claimed {
            Claim::Run(execution) => assert_eq!(execution.worker_id, "0worker000000"),
            other => panic!("the applied claim must be run by its worker, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn persist_retries_transient_failures_up_to_its_attempts_and_no_others() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let persist = Persist {
            attempts: 3,
            first_pause: Duration::from_millis(1),
        };
        let calls = AtomicU32::new(0);
        let failing = persist
            .run(|| async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err::<(), _>(AbacoError::Unavailable("down".into()))
            })
            .await;
        assert!(matches!(failing, Err(AbacoError::Unavailable(_))));
        assert_eq!(calls.swap(0, Ordering::Relaxed), 3, "three attempts in all");

        let recovering = persist
            .run(|| async {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(AbacoError::Conflict("raced".into())),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(recovering.unwrap(), 7);
        assert_eq!(calls.swap(0, Ordering::Relaxed), 2);

        let refused = persist
            .run(|| async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err::<(), _>(AbacoError::not_found("execution", "x"))
            })
            .await;
        assert!(matches!(refused, Err(AbacoError::NotFound(_))));
        assert_eq!(calls.load(Ordering::Relaxed), 1, "not retried");
    }
}
