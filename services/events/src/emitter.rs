//! Emitting: an event goes into the outbox (durably: the broker confirmed it) or the caller
//! hears why not. Only actors with a link or a webhook have events; for others emitting is a
//! no-op, so runs of ordinary actors pay nothing for events.

use std::sync::Arc;

use abaco::{
    mailbox::{MailboxError, Mailboxes},
    pb,
};
use bytes::Bytes;

use crate::event::{Envelope, EventType, OUTBOX};

/// Why an event did not reach the outbox.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// The outbox did not take it.
    #[error("event not queued: {0}")]
    Mailbox(#[from] MailboxError),
    /// It could not be written down (never expected: the body is built here).
    #[error("event not encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Puts events into the outbox.
#[derive(Debug, Clone)]
pub struct Emitter {
    mailboxes: Arc<dyn Mailboxes>,
    default_tenant: String,
}

impl Emitter {
    /// Emitting into `mailboxes`; actors recorded without a tenant are in `default_tenant`.
    pub fn new(mailboxes: Arc<dyn Mailboxes>, default_tenant: impl Into<String>) -> Self {
        Self {
            mailboxes,
            default_tenant: default_tenant.into(),
        }
    }

    fn tenant<'a>(&'a self, actor: &'a pb::Actor) -> &'a str {
        if actor.tenant.is_empty() {
            &self.default_tenant
        } else {
            &actor.tenant
        }
    }

    /// Emits an event about `actor`; whether there was anyone to tell.
    pub async fn actor_event(
        &self,
        actor: &pb::Actor,
        event_type: EventType,
    ) -> Result<bool, EmitError> {
        if !Envelope::has_receivers(actor) {
            return Ok(false);
        }
        let envelope = Envelope::for_actor(actor, self.tenant(actor), event_type);
        self.publish(&envelope).await.map(|()| true)
    }

    /// Emits an event about `execution` of `actor`; whether there was anyone to tell.
    pub async fn execution_event(
        &self,
        actor: &pb::Actor,
        execution: &pb::Execution,
        event_type: EventType,
    ) -> Result<bool, EmitError> {
        if !Envelope::has_receivers(actor) {
            return Ok(false);
        }
        let envelope = Envelope::for_execution(actor, self.tenant(actor), execution, event_type);
        self.publish(&envelope).await.map(|()| true)
    }

    /// Like [`Self::actor_event`], for callers that cannot wait for or undo what they did:
    /// a failure is logged.
    pub async fn actor_event_logged(&self, actor: &pb::Actor, event_type: EventType) {
        if let Err(error) = self.actor_event(actor, event_type).await {
            tracing::warn!(actor = %actor.id, event = event_type.name(), %error, "event not emitted");
        }
    }

    async fn publish(&self, envelope: &Envelope) -> Result<(), EmitError> {
        let bytes = Bytes::from(serde_json::to_vec(envelope)?);
        self.mailboxes.publish(OUTBOX, bytes).await?;
        tracing::debug!(event = %envelope.id, event_type = envelope.event_type.name(), actor = %envelope.actor_id, "event emitted");
        Ok(())
    }
}
