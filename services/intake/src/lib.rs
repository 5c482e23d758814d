//! Accepting a message for an actor, the same way whoever sends it (a caller through the
//! messages service, an event delivered to a linked actor, a cron tick): the execution record
//! goes in together with the read of the actor (one store round trip), the message is
//! published durably carrying the execution id, and a worker is asked for. Embedded, record
//! and message are one commit; distributed, a fresh message is published while its record goes
//! in, and a message whose id a sender may use again goes after its record. A message that is
//! not published takes its record back, and one published without a record (refused, or the
//! store failed) is never run: workers run a message only under its own record.

use std::{collections::HashMap, sync::Arc};

use abaco::{
    AbacoError, Result, execution_index,
    fleet::Fleet,
    ids,
    mailbox::{Mailboxes, Published, RecordWrite, Recorded, message_digest},
    pb,
    records::{Records, child_key},
    store::Table,
    time,
};
use bytes::Bytes;
use prost::Message;

/// Turns of an idempotent accept before it gives up on a record that keeps changing.
const IDEMPOTENT_ATTEMPTS: usize = 4;

/// Fresh execution ids tried for one message before giving up; a second is needed about once
/// in 2^36 messages of one millisecond.
const FRESH_ID_ATTEMPTS: usize = 3;

/// In what order a record and its message go in, where the mailboxes keep no records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The record, then the message: for an execution id a sender may use again (an
    /// idempotency key, a cron tick), whose second accept must not publish before it knows.
    RecordFirst,
    /// Both at once: for a fresh execution id.
    Together,
}

/// A message to accept.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// The actor's id (already resolved and authorized).
    pub actor_id: String,
    /// The message.
    pub body: Vec<u8>,
    /// "str", "application/json" or "application/octet-stream".
    pub content_type: String,
    /// Variables for the run.
    pub environment: HashMap<String, String>,
    /// Who the run acts as (`_abaco_username`, the execution's `executor`).
    pub executor: String,
    /// The execution's id, when the sender must be able to tell a second accept of the same
    /// message (a cron tick) from a new one; otherwise a fresh one.
    pub execution_id: Option<String>,
    /// W3C trace context the run's span continues.
    pub trace_context: HashMap<String, String>,
}

/// What was accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The new SUBMITTED execution.
    pub execution: pb::Execution,
    /// The actor it runs on, as read when the record went in.
    pub actor: pb::Actor,
}

/// Accepts messages over the records, mailboxes and fleet it is given.
#[derive(Debug, Clone)]
pub struct Intake {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    fleet: Arc<dyn Fleet>,
}

impl Intake {
    /// Accepting over these backends.
    pub fn new(records: Records, mailboxes: Arc<dyn Mailboxes>, fleet: Arc<dyn Fleet>) -> Self {
        Self {
            records,
            mailboxes,
            fleet,
        }
    }

    /// The mailboxes messages go to.
    pub fn mailboxes(&self) -> &Arc<dyn Mailboxes> {
        &self.mailboxes
    }

    /// Accepts `incoming`: `NotFound` for an actor that is gone or being deleted, `Conflict`
    /// when an execution of the given id exists already, `Unavailable` when the broker did not
    /// take the message (then nothing of it remains).
    pub async fn accept(&self, incoming: Incoming) -> Result<Accepted> {
        if let Some(id) = incoming.execution_id.clone() {
            return self
                .accept_with(&incoming, id, Vec::new(), Order::RecordFirst)
                .await;
        }
        let digest = request_digest(&incoming);
        // A fresh id is taken already only by chance (its random part, within one
        // millisecond): a new one settles it.
        for _ in 0..FRESH_ID_ATTEMPTS {
            let id = ids::new_time_ordered_id();
            match self
                .accept_with(&incoming, id, digest.clone(), Order::Together)
                .await
            {
                Err(AbacoError::Conflict(_)) => {}
                done => return done,
            }
        }
        Err(AbacoError::Unavailable(
            "no free execution id was found for this message; send it again".into(),
        ))
    }

    /// [`Intake::accept`] as execution `id`, the record carrying `request_digest` (empty:
    /// none), in `order` where the mailboxes keep no records.
    async fn accept_with(
        &self,
        incoming: &Incoming,
        id: String,
        request_digest: Vec<u8>,
        order: Order,
    ) -> Result<Accepted> {
        let received = time::now();
        let execution = pb::Execution {
            id,
            actor_id: incoming.actor_id.clone(),
            executor: incoming.executor.clone(),
            status: pb::ExecutionStatus::Submitted.into(),
            message_received_time: received.clone(),
            request_digest,
            ..Default::default()
        };
        tracing::Span::current().record("execution", execution.id.as_str());
        let key = child_key(&incoming.actor_id, &execution.id);
        let message = mailbox_message(incoming, &execution.id, received);
        let (actor, published) = if self.mailboxes.keeps_records() {
            self.record_and_publish(&key, &execution, message).await?
        } else if order == Order::Together {
            self.record_with_publish(&key, &execution, message).await?
        } else {
            self.record_then_publish(&key, &execution, message).await?
        };
        // Only a mailbox made for this publish can be one its actor's deletion removed.
        if published == Published::Created && !self.still_there(&actor.id).await {
            // Deleted while this message went in: the publish may have brought its mailbox
            // back, and the record may have outlived the purge. Neither may stay.
            self.remove_mailbox(&actor.id).await;
            self.take_back(&execution).await;
            return Err(AbacoError::not_found("actor", &actor.id));
        }
        metrics::counter!(abaco::metrics::MESSAGES_ACCEPTED).increment(1);
        self.want_worker(&actor.id).await;
        Ok(Accepted { execution, actor })
    }

    /// Record and message in one durable step, for mailboxes that share the store's file.
    /// Nothing is written for an actor that is gone or being deleted, nor for an execution
    /// id taken already.
    async fn record_and_publish(
        &self,
        key: &str,
        execution: &pb::Execution,
        message: Bytes,
    ) -> Result<(pb::Actor, Published)> {
        let record = RecordWrite {
            table: Table::Executions,
            key: key.to_owned(),
            value: Bytes::from(execution.encode_to_vec()),
            guard: (Table::Actors, execution.actor_id.clone()),
            admit: takes_messages,
            also: execution_index::entries(execution),
        };
        let written = match self
            .mailboxes
            .publish_recorded(&execution.actor_id, message, record)
            .await
        {
            Ok(written) => written,
            Err(error) => {
                self.take_back(execution).await;
                return Err(AbacoError::Unavailable(format!(
                    "message not accepted: {error}"
                )));
            }
        };
        let gone = || AbacoError::not_found("actor", &execution.actor_id);
        match written {
            Recorded::Published { guard, published } => {
                let actor = pb::Actor::decode(guard.value).map_err(|e| {
                    AbacoError::Internal(format!("actor {} unreadable: {e}", execution.actor_id))
                })?;
                Ok((actor, published))
            }
            Recorded::GuardAbsent | Recorded::GuardRefused(_) => Err(gone()),
            Recorded::Conflict => Err(AbacoError::Conflict(format!(
                "execution {} exists already",
                execution.id
            ))),
        }
    }

    /// Record and message at once, for mailboxes of their own (a broker) and a fresh
    /// execution id: a message waits for the slower of the two round trips, not for both in a
    /// row. A worker handed the message before its record is in waits for the record, and one
    /// handed a message whose record never came (refused, or taken back) puts it aside; the
    /// record's digest keeps a message published under an id that turned out to be taken from
    /// running under that id's record. A message not published takes its record back.
    async fn record_with_publish(
        &self,
        key: &str,
        execution: &pb::Execution,
        message: Bytes,
    ) -> Result<(pb::Actor, Published)> {
        let actor_id = &execution.actor_id;
        let (inserted, published) = tokio::join!(
            self.insert_record(key, execution),
            self.publish(actor_id, message),
        );
        let made = matches!(published, Ok(Published::Created));
        let actor = match inserted {
            Ok(actor) => actor,
            // Gone or being deleted: a mailbox this publish made for it must not stay.
            Err(gone @ AbacoError::NotFound(_)) => {
                if made {
                    self.remove_mailbox(actor_id).await;
                }
                return Err(gone);
            }
            Err(error) => {
                if !matches!(error, AbacoError::Conflict(_)) {
                    // The record may have gone in before the store failed.
                    self.take_back(execution).await;
                }
                if made && !self.still_there(actor_id).await {
                    self.remove_mailbox(actor_id).await;
                }
                return Err(error);
            }
        };
        self.published_or_taken_back(actor, published, execution)
            .await
    }

    /// The record first, read together with the actor, then the message: what mailboxes of
    /// their own (a broker) take for an execution id a sender may use again. A message not
    /// published takes its record back.
    async fn record_then_publish(
        &self,
        key: &str,
        execution: &pb::Execution,
        message: Bytes,
    ) -> Result<(pb::Actor, Published)> {
        let actor = self.insert_record(key, execution).await?;
        let published = self.publish(&actor.id, message).await;
        self.published_or_taken_back(actor, published, execution)
            .await
    }

    /// Inserts the execution record, guarded by its actor; the actor as read with it.
    /// `NotFound` for an actor that is gone or being deleted (to senders it is gone already),
    /// with no record left behind.
    async fn insert_record(&self, key: &str, execution: &pb::Execution) -> Result<pb::Actor> {
        let gone = || AbacoError::not_found("actor", &execution.actor_id);
        let actor: pb::Actor = self
            .records
            .insert_guarded(
                Table::Executions,
                key,
                execution,
                (Table::Actors, &execution.actor_id),
                &execution_index::entries(execution),
            )
            .await?
            .ok_or_else(gone)?;
        if actor.status() == pb::ActorStatus::ShuttingDown {
            self.take_back(execution).await;
            return Err(gone());
        }
        Ok(actor)
    }

    /// The accepted message's actor and publish, or the publish's error with the record taken
    /// back.
    async fn published_or_taken_back(
        &self,
        actor: pb::Actor,
        published: Result<Published>,
        execution: &pb::Execution,
    ) -> Result<(pb::Actor, Published)> {
        match published {
            Ok(published) => Ok((actor, published)),
            Err(error) => {
                self.take_back(execution).await;
                Err(error)
            }
        }
    }

    /// Accepts `incoming` (whose `execution_id` is derived from an idempotency key) once:
    /// a repeat answers the execution the first accept made, and `true`; the key used again
    /// for another message (body, content type or environment) is a `Conflict`. Either way the
    /// message is in the mailbox when this returns `Ok`: a repeat that finds the record not
    /// yet marked queued (its first sender may have died, or be about to fail, between record
    /// and mailbox) publishes the message itself, a second copy the worker's claim runs once.
    pub async fn accept_once(&self, incoming: Incoming) -> Result<(Accepted, bool)> {
        let Some(id) = incoming.execution_id.clone() else {
            return Err(AbacoError::Internal(
                "an idempotent accept needs its execution id".into(),
            ));
        };
        let key = child_key(&incoming.actor_id, &id);
        let digest = request_digest(&incoming);
        // Each turn either settles or saw the record vanish (its first sender took it back);
        // a few turns cover senders racing a broker that fails and recovers.
        for _ in 0..IDEMPOTENT_ATTEMPTS {
            match self
                .accept_with(&incoming, id.clone(), digest.clone(), Order::RecordFirst)
                .await
            {
                Ok(accepted) => {
                    self.mark_queued(&key).await?;
                    return Ok((accepted, false));
                }
                Err(AbacoError::Conflict(_)) => {}
                Err(error) => return Err(error),
            }
            let Some(execution) = self
                .records
                .get::<pb::Execution>(Table::Executions, &key)
                .await?
            else {
                continue;
            };
            if !execution.request_digest.is_empty() && execution.request_digest != digest {
                return Err(AbacoError::Conflict(format!(
                    "this idempotency key was used for another message (execution {id}); use a new key for a new message"
                )));
            }
            let actor = self.records.actor(&incoming.actor_id).await?;
            if actor.status() == pb::ActorStatus::ShuttingDown {
                return Err(AbacoError::not_found("actor", &actor.id));
            }
            let settled = execution.queued || execution.status() != pb::ExecutionStatus::Submitted;
            if !settled {
                let received = execution.message_received_time.clone();
                let message = mailbox_message(&incoming, &execution.id, received);
                self.publish(&actor.id, message).await?;
                if !self.mark_queued(&key).await? {
                    // Taken back by its first sender after our copy went out: accept anew.
                    continue;
                }
                self.want_worker(&actor.id).await;
            }
            return Ok((Accepted { execution, actor }, true));
        }
        Err(AbacoError::Unavailable(format!(
            "message {id} could not be settled: its record kept changing; send it again with the same key"
        )))
    }

    /// Publishes `message` (an encoded [`pb::MailboxMessage`]) to `actor_id`.
    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published> {
        self.mailboxes
            .publish(actor_id, message)
            .await
            .map_err(|error| AbacoError::Unavailable(format!("message not accepted: {error}")))
    }

    /// Marks the execution at `key` queued; `false` if there is no such record any more.
    async fn mark_queued(&self, key: &str) -> Result<bool> {
        let marked = self
            .records
            .update(Table::Executions, key, |execution: &mut pb::Execution| {
                let change = !execution.queued;
                execution.queued = true;
                Ok(change)
            })
            .await;
        match marked {
            Ok(_) => Ok(true),
            Err(AbacoError::NotFound(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Whether the actor still exists and is not being deleted. The deletion marks the actor
    /// before it removes the mailbox, so a publish that came after the mailbox's removal (and
    /// brought it back) is always followed by a read that sees the mark. A store that cannot
    /// say leaves the message accepted: it is recorded and queued.
    async fn still_there(&self, actor_id: &str) -> bool {
        match self.records.get::<pb::Actor>(Table::Actors, actor_id).await {
            Ok(Some(actor)) => actor.status() != pb::ActorStatus::ShuttingDown,
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(actor = %actor_id, %error, "could not check the actor after queueing a message");
                true
            }
        }
    }

    /// Removes the mailbox a publish made again for an actor that is gone.
    async fn remove_mailbox(&self, actor_id: &str) {
        if let Err(error) = self.mailboxes.delete(actor_id).await {
            tracing::warn!(actor = %actor_id, %error, "could not remove the mailbox of a deleted actor");
        }
    }

    async fn want_worker(&self, actor_id: &str) {
        if let Err(error) = self.fleet.message_accepted(actor_id).await {
            tracing::warn!(actor = %actor_id, %error, "message queued, no worker started for it yet");
        }
    }

    /// Removes the record of a message that was not accepted after all, unless someone wrote
    /// it since (a repeat of an idempotent send that published it meanwhile).
    async fn take_back(&self, execution: &pb::Execution) {
        match self.records.remove_execution(execution).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(execution = %execution.id, "record changed or removed since it went in; left as it is");
            }
            Err(error) => {
                tracing::error!(execution = %execution.id, %error, "could not remove the execution of a message not accepted");
            }
        }
    }
}

/// `incoming` as the mailbox carries it, encoded: the message of execution `execution_id`.
fn mailbox_message(incoming: &Incoming, execution_id: &str, received: String) -> Bytes {
    let message = pb::MailboxMessage {
        execution_id: execution_id.to_owned(),
        actor_id: incoming.actor_id.clone(),
        body: incoming.body.clone(),
        content_type: incoming.content_type.clone(),
        environment: incoming.environment.clone(),
        sender: incoming.executor.clone(),
        received_time: received,
        trace_context: incoming.trace_context.clone(),
    };
    Bytes::from(message.encode_to_vec())
}

/// Whether an actor stored as `bytes` takes messages: not while it is being deleted (to
/// senders it is gone already).
fn takes_messages(bytes: &[u8]) -> bool {
    pb::Actor::decode(bytes).is_ok_and(|actor| actor.status() != pb::ActorStatus::ShuttingDown)
}

/// The digest of what `incoming` carries (see [`message_digest`]).
fn request_digest(incoming: &Incoming) -> Vec<u8> {
    message_digest(
        &incoming.body,
        &incoming.content_type,
        &incoming.environment,
    )
}
