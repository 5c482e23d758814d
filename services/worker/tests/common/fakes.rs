//! In-memory stand-ins for the store and the mailboxes (the embedded backends are written
//! elsewhere in parallel). They keep the traits' promises that the worker relies on:
//! versioned compare-and-set writes; one consumer, ack/reject, requeue marks redelivery.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use abaco::{
    mailbox::{Acker, Consumer, Delivery, MailboxError, Mailboxes, Published},
    store::{Expect, Page, Store, StoreError, Table, Versioned},
};
use async_trait::async_trait;
use bytes::Bytes;

/// (table name, key) -> (value, expiry it was written with).
type Entries = BTreeMap<(String, String), (Versioned, Option<Duration>)>;

#[derive(Debug, Default)]
pub struct MemStore {
    entries: Mutex<Entries>,
}

impl MemStore {
    /// The value at `key` without going through async, for hooks and assertions.
    pub fn peek(&self, table: Table, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap();
        entries
            .get(&(table.name().to_string(), key.to_string()))
            .map(|(v, _)| v.value.clone())
    }

    /// The expiry a value was written with.
    pub fn ttl(&self, table: Table, key: &str) -> Option<Duration> {
        let entries = self.entries.lock().unwrap();
        entries
            .get(&(table.name().to_string(), key.to_string()))
            .and_then(|(_, ttl)| *ttl)
    }
}

#[async_trait]
impl Store for MemStore {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Versioned>, StoreError> {
        let entries = self.entries.lock().unwrap();
        Ok(entries
            .get(&(table.name().to_string(), key.to_string()))
            .map(|(v, _)| v.clone()))
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, StoreError> {
        let mut entries = self.entries.lock().unwrap();
        let k = (table.name().to_string(), key.to_string());
        let current = entries.get(&k).map(|(v, _)| v.version);
        match (expect, current) {
            (Expect::Any, _) | (Expect::Absent, None) => {}
            (Expect::Version(want), Some(have)) if want == have => {}
            _ => return Err(StoreError::Conflict),
        }
        let version = current.unwrap_or(0) + 1;
        entries.insert(k, (Versioned { version, value }, ttl));
        Ok(version)
    }

    async fn delete_if_value(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        also: &[(Table, String)],
    ) -> Result<bool, StoreError> {
        let mut entries = self.entries.lock().unwrap();
        let k = (table.name().to_string(), key.to_string());
        let held = entries.get(&k).is_some_and(|(v, _)| v.value == value);
        if held {
            entries.remove(&k);
            for (other, entry) in also {
                entries.remove(&(other.name().to_string(), entry.clone()));
            }
        }
        Ok(held)
    }

    async fn insert_guarded(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        (guard_table, guard_key): (Table, &str),
        also: &[(Table, String)],
    ) -> Result<Option<Versioned>, StoreError> {
        let mut entries = self.entries.lock().unwrap();
        let guard = (guard_table.name().to_string(), guard_key.to_string());
        let Some((guard, _)) = entries.get(&guard).cloned() else {
            return Ok(None);
        };
        let k = (table.name().to_string(), key.to_string());
        if entries.contains_key(&k) {
            return Err(StoreError::Conflict);
        }
        entries.insert(k, (Versioned { version: 1, value }, None));
        for (index, entry) in also {
            let empty = Versioned {
                version: 1,
                value: Bytes::new(),
            };
            entries.insert((index.name().to_string(), entry.clone()), (empty, None));
        }
        Ok(Some(guard))
    }

    async fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        let mut entries = self.entries.lock().unwrap();
        Ok(entries
            .remove(&(table.name().to_string(), key.to_string()))
            .is_some())
    }

    async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let entries = self.entries.lock().unwrap();
        Ok(entries
            .iter()
            .filter(|((t, k), _)| t == table.name() && k.starts_with(prefix))
            .map(|((_, k), (v, _))| (k.clone(), v.clone()))
            .collect())
    }

    async fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let mut all = self.scan(table, prefix).await?;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.retain(|(key, _)| after.is_none_or(|after| key.as_str() > after));
        let more = all.len() > skip + limit;
        let entries: Vec<_> = all.into_iter().skip(skip).take(limit).collect();
        let next = more
            .then(|| entries.last().map(|(key, _)| key.clone()))
            .flatten();
        Ok(Page { entries, next })
    }

    async fn count_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        Ok(self.scan(table, prefix).await?.len() as u64)
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            found.push(self.get(table, key).await?);
        }
        Ok(found)
    }

    async fn delete_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        let mut entries = self.entries.lock().unwrap();
        let before = entries.len();
        entries.retain(|(t, k), _| !(t == table.name() && k.starts_with(prefix)));
        Ok((before - entries.len()) as u64)
    }
}

type AckHook = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Queue {
    ready: VecDeque<(Bytes, bool)>,
    unacked: usize,
    acked: usize,
    dropped: usize,
}

#[derive(Default)]
struct Shared {
    queues: Mutex<HashMap<String, Queue>>,
    on_ack: Mutex<Option<AckHook>>,
}

/// Counts of one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub ready: usize,
    pub unacked: usize,
    pub acked: usize,
    pub dropped: usize,
}

#[derive(Clone, Default)]
pub struct MemMailboxes {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemMailboxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemMailboxes")
    }
}

impl MemMailboxes {
    /// Puts a message as if it had been handed out before and not acked.
    pub fn publish_redelivered(&self, actor_id: &str, message: Bytes) {
        let mut queues = self.shared.queues.lock().unwrap();
        queues
            .entry(actor_id.to_string())
            .or_default()
            .ready
            .push_back((message, true));
    }

    /// Called at every ack, before the ack counts.
    pub fn on_ack(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.shared.on_ack.lock().unwrap() = Some(Arc::new(hook));
    }

    /// Whether the actor's mailbox exists.
    pub fn exists(&self, actor_id: &str) -> bool {
        self.shared.queues.lock().unwrap().contains_key(actor_id)
    }

    pub fn counts(&self, actor_id: &str) -> Counts {
        let queues = self.shared.queues.lock().unwrap();
        let q = queues.get(actor_id);
        Counts {
            ready: q.map_or(0, |q| q.ready.len()),
            unacked: q.map_or(0, |q| q.unacked),
            acked: q.map_or(0, |q| q.acked),
            dropped: q.map_or(0, |q| q.dropped),
        }
    }
}

#[async_trait]
impl Mailboxes for MemMailboxes {
    async fn create(&self, actor_id: &str) -> Result<(), MailboxError> {
        self.shared
            .queues
            .lock()
            .unwrap()
            .entry(actor_id.to_string())
            .or_default();
        Ok(())
    }

    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published, MailboxError> {
        let mut queues = self.shared.queues.lock().unwrap();
        let published = if queues.contains_key(actor_id) {
            Published::Existing
        } else {
            Published::Created
        };
        queues
            .entry(actor_id.to_string())
            .or_default()
            .ready
            .push_back((message, false));
        Ok(published)
    }

    async fn depth(&self, actor_id: &str) -> Result<u64, MailboxError> {
        Ok(self.counts(actor_id).ready as u64)
    }

    async fn purge(&self, actor_id: &str) -> Result<u64, MailboxError> {
        let mut queues = self.shared.queues.lock().unwrap();
        let q = queues.entry(actor_id.to_string()).or_default();
        let n = q.ready.len() as u64;
        q.ready.clear();
        Ok(n)
    }

    async fn delete(&self, actor_id: &str) -> Result<(), MailboxError> {
        self.shared.queues.lock().unwrap().remove(actor_id);
        Ok(())
    }

    async fn consume(
        &self,
        actor_id: &str,
        _prefetch: u16,
    ) -> Result<Box<dyn Consumer>, MailboxError> {
        // As the broker does: a consumer never makes a mailbox.
        if !self.shared.queues.lock().unwrap().contains_key(actor_id) {
            return Err(MailboxError::Closed);
        }
        Ok(Box::new(MemConsumer {
            shared: self.shared.clone(),
            actor_id: actor_id.to_string(),
        }))
    }
}

struct MemConsumer {
    shared: Arc<Shared>,
    actor_id: String,
}

impl std::fmt::Debug for MemConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemConsumer")
    }
}

#[async_trait]
impl Consumer for MemConsumer {
    async fn next(&mut self) -> Result<Option<Delivery>, MailboxError> {
        loop {
            {
                let mut queues = self.shared.queues.lock().unwrap();
                let q = queues.entry(self.actor_id.clone()).or_default();
                if let Some((body, redelivered)) = q.ready.pop_front() {
                    q.unacked += 1;
                    return Ok(Some(Delivery {
                        body: body.clone(),
                        redelivered,
                        acker: Box::new(MemAcker {
                            shared: self.shared.clone(),
                            actor_id: self.actor_id.clone(),
                            body,
                        }),
                    }));
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

struct MemAcker {
    shared: Arc<Shared>,
    actor_id: String,
    body: Bytes,
}

impl std::fmt::Debug for MemAcker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemAcker")
    }
}

#[async_trait]
impl Acker for MemAcker {
    async fn ack(self: Box<Self>) -> Result<(), MailboxError> {
        let hook = self.shared.on_ack.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook();
        }
        let mut queues = self.shared.queues.lock().unwrap();
        let q = queues.entry(self.actor_id.clone()).or_default();
        q.unacked -= 1;
        q.acked += 1;
        Ok(())
    }

    async fn reject(self: Box<Self>, requeue: bool) -> Result<(), MailboxError> {
        let mut queues = self.shared.queues.lock().unwrap();
        let q = queues.entry(self.actor_id.clone()).or_default();
        q.unacked -= 1;
        if requeue {
            q.ready.push_front((self.body.clone(), true));
        } else {
            q.dropped += 1;
        }
        Ok(())
    }
}
