//! Embedded durable mailboxes in a redb file, for the single-process `abaco up`.
//!
//! `abaco up` keeps them in the store's own file, written through the store's writer, so an
//! accepted message and its execution record go in with one commit
//! ([`Mailboxes::publish_recorded`]); they can also have a file of their own.
//! The file holds every message not yet acked, keyed by (actor id, sequence), plus a
//! "handed out once" flag per message so a restart can report `redelivered`. Which messages
//! are currently handed out, and to whom, lives only in memory: after a crash nothing is
//! handed out, so every message still in the file is delivered again.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use abaco::mailbox::{
    Acker, Consumer, Delivery, MailboxError, Mailboxes, Published, RecordWrite, Recorded,
};
use abaco::store::{StoreError, Versioned};
use abaco_store::{GroupCommit, Guarded, RedbStore, insert_guarded_in};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::Notify;

/// Message bodies by (actor id, sequence).
pub(crate) const MESSAGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("messages");
/// Messages handed out at least once, same keys as `MESSAGES`.
pub(crate) const DELIVERED: TableDefinition<(&str, u64), ()> = TableDefinition::new("delivered");

fn backend(what: &str, err: impl std::fmt::Display) -> MailboxError {
    metrics::counter!(abaco::metrics::BROKER_ERRORS, "backend" => "embedded").increment(1);
    MailboxError::Backend(format!("{what}: {err}"))
}

/// Mailboxes stored in a redb file. Cheap to share: clone the `Arc` it is usually held in.
#[derive(Debug)]
pub struct FileMailboxes {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Keeps the file open: the writer holds it only weakly, so dropping the mailboxes
    /// closes the file.
    _db: Arc<Database>,
    /// Every write goes through here, so concurrent publishes share durable commits.
    writer: GroupCommit,
    /// The file is the store's, so a record can go in with a message.
    with_store: bool,
    /// Sequences are global rather than per actor: one counter, monotonic across restarts.
    next_seq: AtomicU64,
    next_consumer: AtomicU64,
    boxes: Mutex<HashMap<String, Arc<Mailbox>>>,
}

/// One actor's mailbox in memory. A deleted mailbox is closed and left to its consumers;
/// a later publish makes a fresh one.
#[derive(Debug, Default)]
struct Mailbox {
    state: Mutex<State>,
    /// Woken on every change a waiting consumer may care about: a new or returned message,
    /// an ack that frees prefetch room, or the mailbox closing.
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    waiting: BTreeSet<u64>,
    /// Sequences handed out before (in this process or, by the persisted flag, an earlier one).
    seen: HashSet<u64>,
    /// Handed-out sequence -> consumer holding it.
    out: HashMap<u64, u64>,
    /// Consumer -> how many it holds, for the prefetch bound.
    held: HashMap<u64, usize>,
    closed: bool,
    /// A publish went into this box since it was made (a deletion removes the box).
    published: bool,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the sets half-updated in a way that
        // loses messages (they are on disk), so carry on with the data as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts a handed-out message back at its place in the queue.
    fn give_back(&self, seq: u64, consumer: u64) {
        let mut st = self.lock();
        if st.out.get(&seq) == Some(&consumer) {
            st.out.remove(&seq);
            release(&mut st, consumer);
            if !st.closed {
                st.waiting.insert(seq);
            }
        }
        drop(st);
        self.changed.notify_waiters();
    }
}

fn release(st: &mut State, consumer: u64) {
    if let Some(n) = st.held.get_mut(&consumer) {
        *n = n.saturating_sub(1);
    }
}

impl FileMailboxes {
    /// Opens (or creates) the mailbox file at `path`, loading every message not yet acked.
    pub async fn open(path: &Path) -> Result<Self, MailboxError> {
        let path = path.to_owned();
        let opened = tokio::task::spawn_blocking(move || -> Result<_, MailboxError> {
            let db = Database::create(&path).map_err(|e| backend("open mailbox file", e))?;
            let db = Arc::new(db);
            let writer = GroupCommit::start(&db, "mailbox").map_err(|e| backend("open", e))?;
            Ok((db, writer))
        })
        .await
        .map_err(|e| backend("open", e))??;
        let (db, writer) = opened;
        Self::load(db, writer, false).await
    }

    /// The mailboxes inside `store`'s file, written through its writer. Messages left in a
    /// mailbox file of their own at `legacy` (where earlier versions kept them) are moved in
    /// first, and that file removed.
    pub async fn within(store: &RedbStore, legacy: Option<&Path>) -> Result<Self, MailboxError> {
        if let Some(legacy) = legacy.filter(|path| path.exists()) {
            crate::legacy::move_into(store.writer(), legacy).await?;
        }
        Self::load(store.database().clone(), store.writer().clone(), true).await
    }

    /// Makes the tables if need be and loads every message not yet acked.
    async fn load(
        db: Arc<Database>,
        writer: GroupCommit,
        with_store: bool,
    ) -> Result<Self, MailboxError> {
        let loaded = writer
            .write(|txn| -> Result<_, redb::Error> {
                let messages = txn.open_table(MESSAGES)?;
                let delivered = txn.open_table(DELIVERED)?;
                let mut boxes: HashMap<String, Arc<Mailbox>> = HashMap::new();
                let mut max_seq = 0;
                for row in messages.iter()? {
                    let (key, _) = row?;
                    let (actor, seq) = key.value();
                    max_seq = max_seq.max(seq);
                    let seen = delivered.get((actor, seq))?.is_some();
                    let mb = boxes.entry(actor.to_owned()).or_default();
                    let mut st = mb.lock();
                    st.waiting.insert(seq);
                    if seen {
                        st.seen.insert(seq);
                    }
                }
                Ok((boxes, max_seq))
            })
            .await
            .map_err(|e| backend("load", e))?
            .map_err(|e| backend("load", e))?;
        let (boxes, max_seq) = loaded;
        Ok(Self {
            inner: Arc::new(Inner {
                _db: db,
                writer,
                with_store,
                next_seq: AtomicU64::new(max_seq + 1),
                next_consumer: AtomicU64::new(1),
                boxes: Mutex::new(boxes),
            }),
        })
    }
}

impl Inner {
    fn boxes(&self) -> MutexGuard<'_, HashMap<String, Arc<Mailbox>>> {
        self.boxes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mailbox(&self, actor_id: &str) -> Arc<Mailbox> {
        self.boxes().entry(actor_id.to_owned()).or_default().clone()
    }

    fn existing(&self, actor_id: &str) -> Option<Arc<Mailbox>> {
        self.boxes().get(actor_id).cloned()
    }

    /// Makes a message whose row is durable visible to consumers; whether its box was made
    /// for it.
    fn arrived(&self, actor_id: &str, seq: u64) -> Published {
        // Looked up after the write: a deletion removes the box before its rows, so a row
        // written after a deletion lands in a box made since (here, or by a consumer), which
        // no publish went into yet.
        let mb = self.mailbox(actor_id);
        let mut st = mb.lock();
        let published = if std::mem::replace(&mut st.published, true) {
            Published::Existing
        } else {
            Published::Created
        };
        st.waiting.insert(seq);
        drop(st);
        mb.changed.notify_waiters();
        published
    }

    /// Runs `work` in a shared, durable write transaction.
    async fn write<T, F>(&self, what: &'static str, work: F) -> Result<T, MailboxError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, redb::Error> + Send + 'static,
    {
        self.writer
            .write(work)
            .await
            .map_err(|e| backend(what, e))?
            .map_err(|e| backend(what, e))
    }
}

/// Removes the given messages (and their flags).
fn remove_rows(txn: &WriteTransaction, actor_id: &str, seqs: &[u64]) -> Result<(), redb::Error> {
    let mut messages = txn.open_table(MESSAGES)?;
    let mut delivered = txn.open_table(DELIVERED)?;
    for &seq in seqs {
        messages.remove((actor_id, seq))?;
        delivered.remove((actor_id, seq))?;
    }
    Ok(())
}

/// Reads a message being handed out and flags it as handed out. `None` if it is gone
/// (deleted or purged concurrently).
fn hand_out(
    txn: &WriteTransaction,
    actor_id: &str,
    seq: u64,
) -> Result<Option<Bytes>, redb::Error> {
    // Written durably: the flag must survive a kill -9 to be worth having, and a delivery
    // costs a container run, far more than a share of a commit.
    let body = txn
        .open_table(MESSAGES)?
        .get((actor_id, seq))?
        .map(|v| Bytes::copy_from_slice(v.value()));
    if body.is_some() {
        txn.open_table(DELIVERED)?.insert((actor_id, seq), ())?;
    }
    Ok(body)
}

#[async_trait]
impl Mailboxes for FileMailboxes {
    async fn create(&self, actor_id: &str) -> Result<(), MailboxError> {
        // An empty mailbox needs no row on disk: absent and empty behave the same.
        self.inner.mailbox(actor_id);
        Ok(())
    }

    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published, MailboxError> {
        let seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
        let actor = actor_id.to_owned();
        self.inner
            .write("publish", move |txn| {
                txn.open_table(MESSAGES)?
                    .insert((actor.as_str(), seq), message.as_ref())?;
                Ok(())
            })
            .await?;
        Ok(self.inner.arrived(actor_id, seq))
    }

    fn keeps_records(&self) -> bool {
        self.inner.with_store
    }

    async fn publish_recorded(
        &self,
        actor_id: &str,
        message: Bytes,
        record: RecordWrite,
    ) -> Result<Recorded, MailboxError> {
        if !self.inner.with_store {
            return Err(MailboxError::Backend(
                "mailboxes in a file of their own keep no records".into(),
            ));
        }
        let seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
        let actor = actor_id.to_owned();
        // The job answers the guard as read once both rows are in, or what refused them.
        let written = self
            .inner
            .writer
            .write(
                move |txn| -> Result<Result<Versioned, Recorded>, MailboxError> {
                    let guard = (record.guard.0, record.guard.1.as_str());
                    let (table, key, value) = (record.table, &record.key, &record.value);
                    let guarded = insert_guarded_in(
                        txn,
                        table,
                        key,
                        value,
                        guard,
                        record.admit,
                        &record.also,
                    );
                    let guard = match guarded {
                        Ok(Guarded::Inserted(guard)) => guard,
                        Ok(Guarded::Absent) => return Ok(Err(Recorded::GuardAbsent)),
                        Ok(Guarded::Refused(guard)) => {
                            return Ok(Err(Recorded::GuardRefused(guard)));
                        }
                        Err(StoreError::Conflict) => return Ok(Err(Recorded::Conflict)),
                        Err(error) => return Err(backend("record", error)),
                    };
                    // An error here leaves the record in; the caller removes it.
                    let mut rows = txn
                        .open_table(MESSAGES)
                        .map_err(|e| backend("publish", e))?;
                    rows.insert((actor.as_str(), seq), message.as_ref())
                        .map_err(|e| backend("publish", e))?;
                    Ok(Ok(guard))
                },
            )
            .await
            .map_err(|e| backend("publish", e))??;
        Ok(match written {
            Ok(guard) => Recorded::Published {
                guard,
                published: self.inner.arrived(actor_id, seq),
            },
            Err(refused) => refused,
        })
    }

    async fn depth(&self, actor_id: &str) -> Result<u64, MailboxError> {
        Ok(self
            .inner
            .existing(actor_id)
            .map_or(0, |mb| mb.lock().waiting.len() as u64))
    }

    async fn purge(&self, actor_id: &str) -> Result<u64, MailboxError> {
        let Some(mb) = self.inner.existing(actor_id) else {
            return Ok(0);
        };
        // Taken out of memory first so no consumer picks them while the disk catches up.
        let seqs: Vec<u64> = std::mem::take(&mut mb.lock().waiting).into_iter().collect();
        if seqs.is_empty() {
            return Ok(0);
        }
        let actor = actor_id.to_owned();
        let rows = seqs.clone();
        let removed = self
            .inner
            .write("purge", move |txn| remove_rows(txn, &actor, &rows))
            .await;
        if let Err(e) = removed {
            let mut st = mb.lock();
            if !st.closed {
                st.waiting.extend(seqs);
            }
            drop(st);
            mb.changed.notify_waiters();
            return Err(e);
        }
        let mut st = mb.lock();
        for seq in &seqs {
            st.seen.remove(seq);
        }
        Ok(seqs.len() as u64)
    }

    async fn delete(&self, actor_id: &str) -> Result<(), MailboxError> {
        if let Some(mb) = self.inner.boxes().remove(actor_id) {
            let mut st = mb.lock();
            st.closed = true;
            st.waiting.clear();
            st.out.clear();
            drop(st);
            mb.changed.notify_waiters();
        }
        // Every row of the actor goes, handed-out ones too: their ackers find nothing to ack.
        let actor = actor_id.to_owned();
        self.inner
            .write("delete", move |txn| {
                let range = (actor.as_str(), 0)..=(actor.as_str(), u64::MAX);
                txn.open_table(MESSAGES)?
                    .retain_in(range.clone(), |_, _| false)?;
                txn.open_table(DELIVERED)?.retain_in(range, |_, _| false)?;
                Ok(())
            })
            .await
    }

    async fn consume(
        &self,
        actor_id: &str,
        prefetch: u16,
    ) -> Result<Box<dyn Consumer>, MailboxError> {
        let id = self.inner.next_consumer.fetch_add(1, Ordering::Relaxed);
        let mailbox = self.inner.mailbox(actor_id);
        mailbox.lock().held.insert(id, 0);
        Ok(Box::new(FileConsumer {
            inner: self.inner.clone(),
            actor_id: actor_id.to_owned(),
            mailbox,
            id,
            // AMQP reads a prefetch of 0 as "no limit"; do the same.
            prefetch: if prefetch == 0 {
                usize::MAX
            } else {
                usize::from(prefetch)
            },
        }))
    }
}

/// A consumer of one file mailbox. Dropping it gives back every message it still holds,
/// as closing an AMQP channel would.
#[derive(Debug)]
struct FileConsumer {
    inner: Arc<Inner>,
    actor_id: String,
    mailbox: Arc<Mailbox>,
    id: u64,
    prefetch: usize,
}

impl FileConsumer {
    /// Claims the next waiting message if this consumer has room; `Err(())` once closed.
    fn claim(&self) -> Result<Option<(u64, bool)>, ()> {
        let mut st = self.mailbox.lock();
        if st.closed {
            return Err(());
        }
        if st.held.get(&self.id).copied().unwrap_or(0) >= self.prefetch {
            return Ok(None);
        }
        let Some(seq) = st.waiting.pop_first() else {
            return Ok(None);
        };
        let redelivered = !st.seen.insert(seq);
        st.out.insert(seq, self.id);
        *st.held.entry(self.id).or_insert(0) += 1;
        Ok(Some((seq, redelivered)))
    }
}

#[async_trait]
impl Consumer for FileConsumer {
    async fn next(&mut self) -> Result<Option<Delivery>, MailboxError> {
        loop {
            let mailbox = self.mailbox.clone();
            let notified = mailbox.changed.notified();
            tokio::pin!(notified);
            // Registered before looking, so a change between the look and the wait is not missed.
            notified.as_mut().enable();
            let Ok(claimed) = self.claim() else {
                return Ok(None);
            };
            let Some((seq, redelivered)) = claimed else {
                notified.await;
                continue;
            };
            // From here the acker owns the claim: any early return gives the message back.
            let acker = FileAcker {
                inner: self.inner.clone(),
                mailbox: self.mailbox.clone(),
                actor_id: self.actor_id.clone(),
                seq,
                consumer: self.id,
                settled: false,
            };
            let actor = self.actor_id.clone();
            let handed = self
                .inner
                .write("read", move |txn| hand_out(txn, &actor, seq))
                .await?;
            match handed {
                Some(body) => {
                    return Ok(Some(Delivery {
                        body,
                        redelivered,
                        acker: Box::new(acker),
                    }));
                }
                None => {
                    // Gone from disk (deleted or purged meanwhile): forget it rather than
                    // give back a message that no longer exists.
                    let mut acker = acker;
                    acker.forget();
                }
            }
        }
    }
}

impl Drop for FileConsumer {
    fn drop(&mut self) {
        let mut st = self.mailbox.lock();
        let mine: Vec<u64> = st
            .out
            .iter()
            .filter(|&(_, &c)| c == self.id)
            .map(|(&s, _)| s)
            .collect();
        for seq in mine {
            st.out.remove(&seq);
            if !st.closed {
                st.waiting.insert(seq);
            }
        }
        st.held.remove(&self.id);
        drop(st);
        self.mailbox.changed.notify_waiters();
    }
}

/// Settles one file delivery; dropped unsettled, it gives the message back.
#[derive(Debug)]
struct FileAcker {
    inner: Arc<Inner>,
    mailbox: Arc<Mailbox>,
    actor_id: String,
    seq: u64,
    consumer: u64,
    settled: bool,
}

impl FileAcker {
    /// Drops the claim without giving the message back.
    fn forget(&mut self) {
        let mut st = self.mailbox.lock();
        if st.out.get(&self.seq) == Some(&self.consumer) {
            st.out.remove(&self.seq);
            release(&mut st, self.consumer);
        }
        st.seen.remove(&self.seq);
        drop(st);
        self.settled = true;
        self.mailbox.changed.notify_waiters();
    }

    /// Removes the message for good (ack, or reject without requeue).
    async fn remove(mut self: Box<Self>) -> Result<(), MailboxError> {
        self.settled = true;
        {
            let mut st = self.mailbox.lock();
            if st.out.get(&self.seq) != Some(&self.consumer) {
                // The consumer went away (and the message was given back) or the mailbox
                // was deleted: this delivery can no longer be settled.
                return Err(MailboxError::Closed);
            }
            // Out of every set while the disk catches up, so a consumer dropped meanwhile
            // does not hand it to someone else.
            st.out.remove(&self.seq);
            release(&mut st, self.consumer);
        }
        self.mailbox.changed.notify_waiters();
        let actor = self.actor_id.clone();
        let seq = self.seq;
        let removed = self
            .inner
            .write("remove", move |txn| remove_rows(txn, &actor, &[seq]))
            .await;
        let mut st = self.mailbox.lock();
        match removed {
            Ok(()) => {
                st.seen.remove(&seq);
                Ok(())
            }
            Err(e) => {
                if !st.closed {
                    st.waiting.insert(seq);
                }
                drop(st);
                self.mailbox.changed.notify_waiters();
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Acker for FileAcker {
    async fn ack(self: Box<Self>) -> Result<(), MailboxError> {
        self.remove().await
    }

    async fn reject(mut self: Box<Self>, requeue: bool) -> Result<(), MailboxError> {
        if requeue {
            self.settled = true;
            self.mailbox.give_back(self.seq, self.consumer);
            Ok(())
        } else {
            self.remove().await
        }
    }
}

impl Drop for FileAcker {
    fn drop(&mut self) {
        if !self.settled {
            self.mailbox.give_back(self.seq, self.consumer);
        }
    }
}
