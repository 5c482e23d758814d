//! Mailboxes: one durable queue per actor. A message is published only once it is durable
//! (the broker confirmed it), is handed to one consumer at a time, and stays in the mailbox
//! until that consumer acks it; a consumer that goes away without acking gives it back.

use async_trait::async_trait;
use bytes::Bytes;

use crate::store::{Table, Versioned};

/// Why a mailbox call failed.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The broker or the embedded queue could not be reached or failed.
    #[error("mailbox backend: {0}")]
    Backend(String),
    /// The broker did not confirm a publish.
    #[error("the broker did not confirm the message")]
    NotConfirmed,
    /// The mailbox was deleted while in use.
    #[error("mailbox closed")]
    Closed,
}

/// What a publish found of the mailbox it went into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// A mailbox this process knew to exist, and that still did: nothing deleted it first.
    Existing,
    /// The mailbox had to be made, or made sure of, first: the first publish to it here, or
    /// one that found it gone. It may have been deleted just before, with its actor, so a
    /// sender that must not leave a message to a deleted actor checks the actor again.
    Created,
}

/// A record to insert in the same durable step as a message ([`Mailboxes::publish_recorded`]):
/// the arguments of [`crate::store::Store::insert_guarded`], plus `admit`, which sees the
/// guard's bytes and may refuse it.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// Where the record goes.
    pub table: Table,
    /// Its key; a record already there is [`Recorded::Conflict`].
    pub key: String,
    /// Its bytes.
    pub value: Bytes,
    /// The entry that must exist (and be admitted) for anything to be written.
    pub guard: (Table, String),
    /// Whether the guard's bytes allow the write (an actor being deleted does not).
    pub admit: fn(&[u8]) -> bool,
    /// Entries written empty with the record (its index entries).
    pub also: Vec<(Table, String)>,
}

/// What [`Mailboxes::publish_recorded`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Record and message are durable, together; the guard as read.
    Published {
        /// The guard's value when the record went in.
        guard: Versioned,
        /// What the publish found of the mailbox.
        published: Published,
    },
    /// The guard is absent: nothing was written.
    GuardAbsent,
    /// The guard was refused by `admit`: nothing was written.
    GuardRefused(Versioned),
    /// A record exists at the key already: nothing was written.
    Conflict,
}

/// The set of actor mailboxes.
#[async_trait]
pub trait Mailboxes: Send + Sync + std::fmt::Debug + 'static {
    /// Makes sure the actor's mailbox exists (idempotent).
    async fn create(&self, actor_id: &str) -> Result<(), MailboxError>;

    /// Appends a message; returns once it is durable, saying whether the mailbox had to be
    /// made for it.
    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published, MailboxError>;

    /// Whether these mailboxes share a file (and its commits) with the store, and so take
    /// [`Mailboxes::publish_recorded`]. Those that do not (a broker) have the caller write the
    /// record first, then publish.
    fn keeps_records(&self) -> bool {
        false
    }

    /// Inserts `record` and appends `message` in one durable step, so that a message waits
    /// for one commit, not two in a row. Only for mailboxes that [`Mailboxes::keeps_records`];
    /// others refuse. On `Err` the record may be in: the caller removes it.
    async fn publish_recorded(
        &self,
        actor_id: &str,
        message: Bytes,
        record: RecordWrite,
    ) -> Result<Recorded, MailboxError> {
        let _ = (actor_id, message, record);
        Err(MailboxError::Backend(
            "these mailboxes keep no records: write the record, then publish".into(),
        ))
    }

    /// Messages waiting, not counting those handed out and not yet acked.
    async fn depth(&self, actor_id: &str) -> Result<u64, MailboxError>;

    /// Drops the waiting messages; how many went.
    async fn purge(&self, actor_id: &str) -> Result<u64, MailboxError>;

    /// Removes the mailbox and everything in it. Only for a deleted actor.
    async fn delete(&self, actor_id: &str) -> Result<(), MailboxError>;

    /// Starts taking messages, at most `prefetch` unacked at a time. A consumer never makes
    /// a mailbox that a publish could then take for one known before ([`Published::Existing`]):
    /// the broker's mailboxes refuse a missing one with [`MailboxError::Closed`] (make it with
    /// [`Mailboxes::create`], then check its actor); the file mailboxes make it, and the next
    /// publish into it says [`Published::Created`].
    async fn consume(
        &self,
        actor_id: &str,
        prefetch: u16,
    ) -> Result<Box<dyn Consumer>, MailboxError>;
}

/// A stream of deliveries from one mailbox.
#[async_trait]
pub trait Consumer: Send + std::fmt::Debug {
    /// The next delivery; `None` once the mailbox is deleted or the consumer closed.
    async fn next(&mut self) -> Result<Option<Delivery>, MailboxError>;
}

/// Settles one delivery.
#[async_trait]
pub trait Acker: Send + Sync + std::fmt::Debug {
    /// The message is done with: remove it for good.
    async fn ack(self: Box<Self>) -> Result<(), MailboxError>;
    /// Give the message back to the mailbox (`requeue`) or drop it.
    async fn reject(self: Box<Self>, requeue: bool) -> Result<(), MailboxError>;
}

/// One message handed to a consumer.
#[derive(Debug)]
pub struct Delivery {
    /// The message as published.
    pub body: Bytes,
    /// Whether this message was handed out before and not acked.
    pub redelivered: bool,
    /// Settles the delivery.
    pub acker: Box<dyn Acker>,
}

impl Delivery {
    /// Acks the delivery.
    pub async fn ack(self) -> Result<(), MailboxError> {
        self.acker.ack().await
    }

    /// Rejects the delivery, giving it back when `requeue`.
    pub async fn reject(self, requeue: bool) -> Result<(), MailboxError> {
        self.acker.reject(requeue).await
    }
}

/// A digest of what a message carries: its body, content type and environment (in name
/// order), each length-prefixed so that no two messages run together into one. An execution
/// record keeps it, so that a message is never run under another message's record, and a
/// second send with an idempotency key can be told from another message sent with it.
pub fn message_digest(
    body: &[u8],
    content_type: &str,
    environment: &std::collections::HashMap<String, String>,
) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    part(body);
    part(content_type.as_bytes());
    let mut environment: Vec<_> = environment.iter().collect();
    environment.sort();
    for (name, value) in environment {
        part(name.as_bytes());
        part(value.as_bytes());
    }
    hasher.finalize().to_vec()
}
