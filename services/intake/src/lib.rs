//! Accepting a message for an actor, the same way whoever sends it (a caller through the
//! messages service, an event delivered to a linked actor, a cron tick): the execution record
//! goes in together with the read of the actor (one store round trip), the message is
//! published durably carrying the execution id, and a worker is asked for. A message that is
//! not published takes its record back, so no worker or user ever sees a half-accepted one.

use std::{collections::HashMap, sync::Arc};

use abaco::{
    AbacoError, Result,
    fleet::Fleet,
    ids,
    mailbox::Mailboxes,
    pb,
    records::{Records, child_key},
    store::Table,
    time,
};
use bytes::Bytes;
use prost::Message;

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
        let received = time::now();
        let execution = pb::Execution {
            id: incoming.execution_id.unwrap_or_else(ids::new_id),
            actor_id: incoming.actor_id.clone(),
            executor: incoming.executor.clone(),
            status: pb::ExecutionStatus::Submitted.into(),
            message_received_time: received.clone(),
            ..Default::default()
        };
        tracing::Span::current().record("execution", execution.id.as_str());
        let key = child_key(&incoming.actor_id, &execution.id);
        let actor: pb::Actor = self
            .records
            .insert_guarded(
                Table::Executions,
                &key,
                &execution,
                Table::Actors,
                &incoming.actor_id,
            )
            .await?
            .ok_or_else(|| AbacoError::not_found("actor", &incoming.actor_id))?;
        if actor.status() == pb::ActorStatus::ShuttingDown {
            // Being deleted: to senders it is gone already.
            self.take_back(&key, &execution.id).await;
            return Err(AbacoError::not_found("actor", &actor.id));
        }
        let message = pb::MailboxMessage {
            execution_id: execution.id.clone(),
            actor_id: actor.id.clone(),
            body: incoming.body,
            content_type: incoming.content_type,
            environment: incoming.environment,
            sender: incoming.executor,
            received_time: received,
            trace_context: incoming.trace_context,
        };
        if let Err(error) = self
            .mailboxes
            .publish(&actor.id, Bytes::from(message.encode_to_vec()))
            .await
        {
            self.take_back(&key, &execution.id).await;
            return Err(AbacoError::Unavailable(format!(
                "message not accepted: {error}"
            )));
        }
        if let Err(error) = self.fleet.message_accepted(&actor.id).await {
            tracing::warn!(actor = %actor.id, %error, "message queued, no worker started for it yet");
        }
        Ok(Accepted { execution, actor })
    }

    /// Removes the record of a message that was not accepted after all.
    async fn take_back(&self, key: &str, execution_id: &str) {
        if let Err(error) = self.records.delete(Table::Executions, key).await {
            tracing::error!(execution = %execution_id, %error, "could not remove the execution of a message not accepted");
        }
    }
}
