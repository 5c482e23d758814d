//! A store that forces one interleaving on the next write to a table, for tests of races that
//! otherwise need luck: another writer's write lands just before it, or it is applied and
//! its answer lost (a connection cut after the server ran the command).

use std::{sync::Mutex, time::Duration};

use abaco::store::{Expect, Page, Store, StoreError, Table, Versioned};
use async_trait::async_trait;
use bytes::Bytes;

/// What happens to the next write of the armed table.
#[derive(Debug, Clone)]
pub enum Interleaving {
    /// Another writer puts `value` at `key` (whatever is there) just before it.
    WrittenBefore {
        /// The other writer's key.
        key: String,
        /// What it writes.
        value: Bytes,
    },
    /// It is applied, and answered with an error.
    AnswerLost,
}

/// `inner`, with at most one [`Interleaving`] armed on the next `put` to one table.
#[derive(Debug)]
pub struct Interleaved<S> {
    inner: S,
    armed: Mutex<Option<(Table, Interleaving)>>,
}

impl<S: Store> Interleaved<S> {
    /// `inner`, nothing armed.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            armed: Mutex::new(None),
        }
    }

    /// Arms `interleaving` for the next write to `table`; it happens once.
    pub fn arm(&self, table: Table, interleaving: Interleaving) {
        *self.lock() = Some((table, interleaving));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Table, Interleaving)>> {
        self.armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The interleaving armed for a write to `table`, disarmed.
    fn take(&self, table: Table) -> Option<Interleaving> {
        let mut armed = self.lock();
        match armed.as_ref() {
            Some((armed_table, _)) if *armed_table == table => armed.take().map(|(_, i)| i),
            _ => None,
        }
    }
}

#[async_trait]
impl<S: Store> Store for Interleaved<S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.inner.get(table, key).await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, StoreError> {
        match self.take(table) {
            None => self.inner.put(table, key, value, expect, ttl).await,
            Some(Interleaving::WrittenBefore {
                key: other,
                value: theirs,
            }) => {
                self.inner
                    .put(table, &other, theirs, Expect::Any, None)
                    .await?;
                self.inner.put(table, key, value, expect, ttl).await
            }
            Some(Interleaving::AnswerLost) => {
                self.inner.put(table, key, value, expect, ttl).await?;
                Err(StoreError::Backend("connection reset".into()))
            }
        }
    }

    async fn insert_guarded(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        guard: (Table, &str),
        also: &[(Table, String)],
    ) -> Result<Option<Versioned>, StoreError> {
        self.inner
            .insert_guarded(table, key, value, guard, also)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        self.inner.delete(table, key).await
    }

    async fn delete_if_value(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        also: &[(Table, String)],
    ) -> Result<bool, StoreError> {
        self.inner.delete_if_value(table, key, value, also).await
    }

    async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        self.inner.scan(table, prefix).await
    }

    async fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.inner
            .scan_page(table, prefix, after, skip, limit)
            .await
    }

    async fn count_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        self.inner.count_prefix(table, prefix).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        self.inner.get_many(table, keys).await
    }

    async fn delete_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        self.inner.delete_prefix(table, prefix).await
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        self.inner.now().await
    }
}
