//! The embedded backend: one redb file, one redb table per [`Table`].
//!
//! Each value is stored as `version (u64 LE) | expires_at millis (u64 LE, 0 = never) | bytes`.
//! Expired entries stay on disk until the next write or delete touches them; every read treats
//! them as absent, so nobody can observe the difference.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use abaco::store::{Expect, Page, Store, StoreError, Table, Versioned};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use crate::{
    clock::{now_millis, ttl_millis},
    group_commit::{CommitError, GroupCommit},
};

const HEADER_LEN: usize = 16;

fn definition(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

fn backend(error: impl Into<redb::Error>) -> StoreError {
    metrics::counter!(abaco::metrics::STORE_ERRORS, "backend" => "embedded").increment(1);
    StoreError::Backend(error.into().to_string())
}

/// A decoded row.
struct Row {
    version: u64,
    expires_at: u64,
    value: Bytes,
}

impl Row {
    fn encode(version: u64, expires_at: u64, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + value.len());
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&expires_at.to_le_bytes());
        out.extend_from_slice(value);
        out
    }

    fn decode(key: &str, raw: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Backend(format!("corrupt entry {key}"));
        let (version, rest) = raw.split_first_chunk::<8>().ok_or_else(corrupt)?;
        let (expires_at, value) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
        Ok(Self {
            version: u64::from_le_bytes(*version),
            expires_at: u64::from_le_bytes(*expires_at),
            value: Bytes::copy_from_slice(value),
        })
    }

    fn live(&self, now: u64) -> bool {
        self.expires_at == 0 || self.expires_at > now
    }

    fn into_versioned(self) -> Versioned {
        Versioned {
            version: self.version,
            value: self.value,
        }
    }
}

/// The row at `key` of `rows`, unless it is absent or expired at `now`.
fn live_row(
    rows: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    now: u64,
) -> Result<Option<Row>, StoreError> {
    match rows.get(key).map_err(backend)? {
        Some(raw) => Ok(Some(Row::decode(key, raw.value())?).filter(|row| row.live(now))),
        None => Ok(None),
    }
}

/// The embedded, durable store: a single redb file. Every write is committed with immediate
/// durability, so a write that returned `Ok` survives a crash of the process; concurrent
/// writes share commits ([`GroupCommit`]).
///
/// redb allows one writer at a time, which is what makes compare-and-set atomic here; it also
/// locks the file, so only one process can open a given store.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    writer: GroupCommit,
    path: PathBuf,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens (or creates) the store file at `path`, creating its parent directories and every
    /// table. Blocking: call it from a blocking context or before the runtime is busy.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Backend(format!("creating {}: {e}", parent.display())))?;
        }
        let db = Database::create(path).map_err(backend)?;
        // Creating the tables up front lets read transactions open them without a
        // "table does not exist" case.
        let txn = db.begin_write().map_err(backend)?;
        for table in Table::ALL {
            txn.open_table(definition(table)).map_err(backend)?;
        }
        txn.commit().map_err(backend)?;
        let db = Arc::new(db);
        let writer = GroupCommit::start(&db, "store")
            .map_err(|e| StoreError::Backend(format!("starting the store writer: {e}")))?;
        Ok(Self {
            db,
            writer,
            path: path.to_path_buf(),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, for tables that live beside the store's (the embedded mailboxes).
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// The file's one writer: writes to tables beside the store's go through it too, so
    /// they share its commits.
    pub fn writer(&self) -> &GroupCommit {
        &self.writer
    }

    /// Runs `work` on the blocking pool: redb does synchronous file I/O and fsyncs.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// Runs `work` in a shared, durable write transaction.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer
            .write(work)
            .await
            .map_err(|e: CommitError| StoreError::Backend(e.to_string()))?
    }
}

/// What [`insert_guarded_in`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded {
    /// The record and its index entries are in; the guard as read.
    Inserted(Versioned),
    /// The guard is absent (or expired): nothing was written.
    Absent,
    /// The guard is there but `admit` refused it: nothing was written.
    Refused(Versioned),
}

/// [`Store::insert_guarded`] inside a write transaction someone else commits, so that other
/// writes can share its durable step (the embedded mailboxes put an accepted message in the
/// same commit as its execution record). `admit` sees the guard's bytes and may refuse it
/// (an actor being deleted); a record already at `key` is `Err(Conflict)`. Nothing is
/// written unless the answer is `Inserted`.
pub fn insert_guarded_in(
    txn: &WriteTransaction,
    table: Table,
    key: &str,
    value: &[u8],
    guard: (Table, &str),
    admit: impl FnOnce(&[u8]) -> bool,
    also: &[(Table, String)],
) -> Result<Guarded, StoreError> {
    let now = now_millis();
    let guard = {
        let guards = txn.open_table(definition(guard.0)).map_err(backend)?;
        live_row(&guards, guard.1, now)?
    };
    let Some(guard) = guard else {
        return Ok(Guarded::Absent);
    };
    if !admit(&guard.value) {
        return Ok(Guarded::Refused(guard.into_versioned()));
    }
    {
        let mut rows = txn.open_table(definition(table)).map_err(backend)?;
        if live_row(&rows, key, now)?.is_some() {
            return Err(StoreError::Conflict);
        }
        rows.insert(key, Row::encode(1, 0, value).as_slice())
            .map_err(backend)?;
    }
    for (index, entry) in also {
        let mut rows = txn.open_table(definition(*index)).map_err(backend)?;
        rows.insert(entry.as_str(), Row::encode(1, 0, &[]).as_slice())
            .map_err(backend)?;
    }
    Ok(Guarded::Inserted(guard.into_versioned()))
}

#[async_trait]
impl Store for RedbStore {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Versioned>, StoreError> {
        let key = key.to_owned();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let rows = txn.open_table(definition(table)).map_err(backend)?;
            Ok(live_row(&rows, &key, now_millis())?.map(Row::into_versioned))
        })
        .await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.write(move |txn| {
            let mut rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            let current_version = live_row(&rows, &key, now)?.map(|r| r.version);
            let holds = match expect {
                Expect::Any => true,
                Expect::Absent => current_version.is_none(),
                Expect::Version(v) => current_version == Some(v),
            };
            if !holds {
                return Err(StoreError::Conflict);
            }
            let version = current_version.map_or(1, |v| v + 1);
            let expires_at = ttl.map_or(0, |t| now.saturating_add(ttl_millis(t)));
            rows.insert(
                key.as_str(),
                Row::encode(version, expires_at, &value).as_slice(),
            )
            .map_err(backend)?;
            Ok(version)
        })
        .await
    }

    async fn insert_guarded(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        guard: (Table, &str),
        also: &[(Table, String)],
    ) -> Result<Option<Versioned>, StoreError> {
        let (key, (guard_table, guard_key)) = (key.to_owned(), (guard.0, guard.1.to_owned()));
        let also = also.to_vec();
        self.write(move |txn| {
            let guard = (guard_table, guard_key.as_str());
            match insert_guarded_in(txn, table, &key, &value, guard, |_| true, &also)? {
                Guarded::Inserted(guard) => Ok(Some(guard)),
                Guarded::Absent | Guarded::Refused(_) => Ok(None),
            }
        })
        .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(move |txn| {
            let mut rows = txn.open_table(definition(table)).map_err(backend)?;
            match rows.remove(key.as_str()).map_err(backend)? {
                Some(raw) => Row::decode(&key, raw.value()).map(|row| row.live(now_millis())),
                None => Ok(false),
            }
        })
        .await
    }

    async fn delete_if_value(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        also: &[(Table, String)],
    ) -> Result<bool, StoreError> {
        let (key, value, also) = (key.to_owned(), value.to_vec(), also.to_vec());
        self.write(move |txn| {
            {
                let mut rows = txn.open_table(definition(table)).map_err(backend)?;
                let held =
                    live_row(&rows, &key, now_millis())?.is_some_and(|row| row.value == value);
                if !held {
                    return Ok(false);
                }
                rows.remove(key.as_str()).map_err(backend)?;
            }
            for (other, entry) in &also {
                let mut rows = txn.open_table(definition(*other)).map_err(backend)?;
                rows.remove(entry.as_str()).map_err(backend)?;
            }
            Ok(true)
        })
        .await
    }

    async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            let mut found = Vec::new();
            for entry in rows.range::<&str>(prefix.as_str()..).map_err(backend)? {
                let (key, raw) = entry.map_err(backend)?;
                let key = key.value();
                // Keys sort bytewise, so the first key without the prefix ends the run.
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                let row = Row::decode(key, raw.value())?;
                if row.live(now) {
                    found.push((key.to_owned(), row.into_versioned()));
                }
            }
            Ok(found)
        })
        .await
    }

    async fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (prefix, after) = (prefix.to_owned(), after.map(str::to_owned));
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            let start = after.as_deref().unwrap_or(prefix.as_str());
            let mut page = Page::default();
            let (mut seen, mut more) = (0usize, false);
            for entry in rows.range::<&str>(start..).map_err(backend)? {
                let (key, raw) = entry.map_err(backend)?;
                let key = key.value();
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                if after.as_deref() == Some(key) {
                    continue;
                }
                seen += 1;
                if seen <= skip {
                    continue;
                }
                if seen > skip.saturating_add(limit) {
                    more = true;
                    break;
                }
                let row = Row::decode(key, raw.value())?;
                if row.live(now) {
                    page.entries.push((key.to_owned(), row.into_versioned()));
                }
                page.next = Some(key.to_owned());
            }
            if !more {
                page.next = None;
            }
            Ok(page)
        })
        .await
    }

    async fn count_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            let mut count = 0;
            for entry in rows.range::<&str>(prefix.as_str()..).map_err(backend)? {
                let (key, raw) = entry.map_err(backend)?;
                let key = key.value();
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                if Row::decode(key, raw.value())?.live(now) {
                    count += 1;
                }
            }
            Ok(count)
        })
        .await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        let keys = keys.to_vec();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            keys.iter()
                .map(|key| Ok(live_row(&rows, key, now)?.map(Row::into_versioned)))
                .collect()
        })
        .await
    }

    async fn delete_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        let prefix = prefix.to_owned();
        self.write(move |txn| {
            let mut rows = txn.open_table(definition(table)).map_err(backend)?;
            let now = now_millis();
            let mut doomed = Vec::new();
            let mut live = 0u64;
            for entry in rows.range::<&str>(prefix.as_str()..).map_err(backend)? {
                let (key, raw) = entry.map_err(backend)?;
                let key = key.value();
                if !key.starts_with(prefix.as_str()) {
                    break;
                }
                if Row::decode(key, raw.value())?.live(now) {
                    live += 1;
                }
                doomed.push(key.to_owned());
            }
            for key in &doomed {
                rows.remove(key.as_str()).map_err(backend)?;
            }
            Ok(live)
        })
        .await
    }
}
