//! The file mailboxes with an actor's deletion forced into a send at a chosen point.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::{Arc, Mutex};

use abaco::{
    mailbox::{Consumer, MailboxError, Mailboxes, Published, RecordWrite, Recorded},
    pb,
    records::Records,
    store::Table,
};
use abaco_mailbox::FileMailboxes;
use async_trait::async_trait;
use bytes::Bytes;

/// Where the deletion runs.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Just before the first publish (after the record went in on its own).
    BeforePublish,
    /// Just after the first record-and-message commit, before the sender looks at it.
    AfterRecordedCommit,
}

/// `inner`, with actor deletion run once, at `when`.
#[derive(Debug)]
pub struct DeletedMidSend {
    inner: Arc<FileMailboxes>,
    records: Records,
    when: When,
    armed: Mutex<bool>,
}

impl DeletedMidSend {
    pub fn new(inner: Arc<FileMailboxes>, records: Records, when: When) -> Self {
        Self {
            inner,
            records,
            when,
            armed: Mutex::new(true),
        }
    }

    /// The registration service's deletion, in its order (mark, mailbox, records), the first
    /// time only.
    async fn delete_once(&self, actor_id: &str) {
        if !std::mem::take(&mut *self.armed.lock().unwrap()) {
            return;
        }
        self.records
            .update(Table::Actors, actor_id, |actor: &mut pb::Actor| {
                actor.set_status(pb::ActorStatus::ShuttingDown);
                Ok(true)
            })
            .await
            .unwrap();
        self.inner.delete(actor_id).await.unwrap();
        self.records.purge_actor(actor_id).await.unwrap();
    }
}

#[async_trait]
impl Mailboxes for DeletedMidSend {
    async fn create(&self, actor_id: &str) -> Result<(), MailboxError> {
        self.inner.create(actor_id).await
    }

    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published, MailboxError> {
        if matches!(self.when, When::BeforePublish) {
            self.delete_once(actor_id).await;
        }
        self.inner.publish(actor_id, message).await
    }

    fn keeps_records(&self) -> bool {
        self.inner.keeps_records()
    }

    async fn publish_recorded(
        &self,
        actor_id: &str,
        message: Bytes,
        record: RecordWrite,
    ) -> Result<Recorded, MailboxError> {
        let written = self.inner.publish_recorded(actor_id, message, record).await;
        if matches!(self.when, When::AfterRecordedCommit) {
            self.delete_once(actor_id).await;
        }
        written
    }

    async fn depth(&self, actor_id: &str) -> Result<u64, MailboxError> {
        self.inner.depth(actor_id).await
    }

    async fn purge(&self, actor_id: &str) -> Result<u64, MailboxError> {
        self.inner.purge(actor_id).await
    }

    async fn delete(&self, actor_id: &str) -> Result<(), MailboxError> {
        self.inner.delete(actor_id).await
    }

    async fn consume(
        &self,
        actor_id: &str,
        prefetch: u16,
    ) -> Result<Box<dyn Consumer>, MailboxError> {
        self.inner.consume(actor_id, prefetch).await
    }
}
