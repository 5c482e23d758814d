//! Typed access to the store: actors, executions, workers, logs, results and state, encoded
//! as their protobuf messages. Every change goes through [`Records::update`], a
//! compare-and-set loop, so concurrent writers retry on fresh data instead of overwriting.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use prost::Message;

use crate::{
    error::{AbacoError, Result},
    pb,
    store::{Expect, Store, StoreError, Table},
};

/// How often an update retries after losing a compare-and-set race before giving up.
const MAX_CAS_ATTEMPTS: usize = 64;

/// A lease held: its key and the token that tells this holder from the next.
#[derive(Debug, Clone)]
#[must_use = "a lease is given back with Records::release_lease, or runs out"]
pub struct Lease {
    key: String,
    token: Bytes,
}

/// The records of the platform, over any [`Store`].
#[derive(Debug, Clone)]
pub struct Records {
    store: Arc<dyn Store>,
}

impl From<StoreError> for AbacoError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => AbacoError::Conflict(error.to_string()),
            StoreError::Backend(cause) => AbacoError::Unavailable(format!("store: {cause}")),
        }
    }
}

/// Key of a record that belongs to an actor.
pub fn child_key(actor_id: &str, id: &str) -> String {
    format!("{actor_id}/{id}")
}

pub(crate) fn decode<M: Message + Default>(table: Table, key: &str, bytes: &[u8]) -> Result<M> {
    M::decode(bytes)
        .map_err(|e| AbacoError::internal(format!("corrupt {} {key}: {e}", table.name())))
}

impl Records {
    /// Records over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The store underneath, for raw blobs.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Reads one record.
    pub async fn get<M: Message + Default>(&self, table: Table, key: &str) -> Result<Option<M>> {
        match self.store.get(table, key).await? {
            Some(found) => decode(table, key, &found.value).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a new record; a conflict if the key exists.
    pub async fn insert<M: Message>(&self, table: Table, key: &str, record: &M) -> Result<()> {
        self.store
            .put(
                table,
                key,
                Bytes::from(record.encode_to_vec()),
                Expect::Absent,
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| key_taken(table, key, e))
    }

    /// Writes a new record provided the record `guard_key` of `guard_table` exists, in one
    /// step with the record's index entries `also`; the guard as it was, or `None` (nothing
    /// written) when it is missing. A conflict if the key exists.
    pub async fn insert_guarded<M: Message, G: Message + Default>(
        &self,
        table: Table,
        key: &str,
        record: &M,
        (guard_table, guard_key): (Table, &str),
        also: &[(Table, String)],
    ) -> Result<Option<G>> {
        let guard = self
            .store
            .insert_guarded(
                table,
                key,
                Bytes::from(record.encode_to_vec()),
                (guard_table, guard_key),
                also,
            )
            .await
            .map_err(|e| key_taken(table, key, e))?;
        guard
            .map(|found| decode(guard_table, guard_key, &found.value))
            .transpose()
    }

    /// Writes a record whatever is there (for records only their owner writes, like a
    /// spawner's own entry).
    pub async fn save<M: Message>(&self, table: Table, key: &str, record: &M) -> Result<()> {
        self.store
            .put(
                table,
                key,
                Bytes::from(record.encode_to_vec()),
                Expect::Any,
                None,
            )
            .await?;
        Ok(())
    }

    /// Applies `change` to the current record and writes it back if nothing else wrote in
    /// between, retrying on fresh data otherwise. `change` returns `Ok(false)` to leave the
    /// record as it is. Answers the record as stored, or `NotFound`.
    pub async fn update<M, F>(&self, table: Table, key: &str, change: F) -> Result<M>
    where
        M: Message + Default,
        F: FnMut(&mut M) -> Result<bool> + Send,
    {
        self.compare_and_set(table, key, false, change).await
    }

    /// Like [`Records::update`], starting from an empty record when there is none; the record
    /// as stored.
    pub async fn upsert<M, F>(&self, table: Table, key: &str, change: F) -> Result<M>
    where
        M: Message + Default,
        F: FnMut(&mut M) -> Result<bool> + Send,
    {
        self.compare_and_set(table, key, true, change).await
    }

    async fn compare_and_set<M, F>(
        &self,
        table: Table,
        key: &str,
        create: bool,
        mut change: F,
    ) -> Result<M>
    where
        M: Message + Default,
        F: FnMut(&mut M) -> Result<bool> + Send,
    {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (mut record, expect) = match self.store.get(table, key).await? {
                Some(found) => (
                    decode::<M>(table, key, &found.value)?,
                    Expect::Version(found.version),
                ),
                None if create => (M::default(), Expect::Absent),
                None => return Err(AbacoError::not_found(table_kind(table), key)),
            };
            if !change(&mut record)? {
                return Ok(record);
            }
            let bytes = Bytes::from(record.encode_to_vec());
            match self.store.put(table, key, bytes, expect, None).await {
                Ok(_) => return Ok(record),
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        // The key is left out: it may hold a credential (a nonce's id).
        Err(AbacoError::Conflict(format!(
            "the {} is changing too fast; try again",
            table_kind(table)
        )))
    }

    /// Every record whose key starts with `prefix`.
    pub async fn list<M: Message + Default>(&self, table: Table, prefix: &str) -> Result<Vec<M>> {
        self.store
            .scan(table, prefix)
            .await?
            .into_iter()
            .map(|(key, found)| decode(table, &key, &found.value))
            .collect()
    }

    /// Removes one record; whether it existed.
    pub async fn delete(&self, table: Table, key: &str) -> Result<bool> {
        Ok(self.store.delete(table, key).await?)
    }

    /// Stores raw bytes (logs, results, state) that expire after `ttl`.
    pub async fn put_blob(
        &self,
        table: Table,
        key: &str,
        bytes: Bytes,
        ttl: Option<Duration>,
    ) -> Result<()> {
        self.store.put(table, key, bytes, Expect::Any, ttl).await?;
        Ok(())
    }

    /// Raw bytes at `key`.
    pub async fn get_blob(&self, table: Table, key: &str) -> Result<Option<Bytes>> {
        Ok(self.store.get(table, key).await?.map(|found| found.value))
    }

    /// An actor by id, or `NotFound`.
    pub async fn actor(&self, actor_id: &str) -> Result<pb::Actor> {
        self.get(Table::Actors, actor_id)
            .await?
            .ok_or_else(|| AbacoError::not_found("actor", actor_id))
    }

    /// The id of this platform installation, made on first use and kept in the store. Every
    /// component sharing the store shares it, so containers can be told apart from those of
    /// another platform on the same Docker engine even under the same namespace.
    pub async fn instance_id(&self) -> Result<String> {
        const KEY: &str = "instance";
        if let Some(found) = self.get_blob(Table::Meta, KEY).await? {
            return Ok(String::from_utf8_lossy(&found).into_owned());
        }
        let fresh = crate::ids::new_id();
        match self
            .store
            .put(
                Table::Meta,
                KEY,
                Bytes::from(fresh.clone()),
                Expect::Absent,
                None,
            )
            .await
        {
            Ok(_) => Ok(fresh),
            // Another component made it first: theirs stands.
            Err(StoreError::Conflict) => Ok(self
                .get_blob(Table::Meta, KEY)
                .await?
                .map(|found| String::from_utf8_lossy(&found).into_owned())
                .unwrap_or(fresh)),
            Err(other) => Err(other.into()),
        }
    }

    /// The store's time, by which heartbeats are written and liveness is judged on every host.
    pub async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        Ok(self.store.now().await?)
    }

    /// Why the store could lose an acknowledged write on power failure, if it could.
    pub async fn durability_risk(&self) -> Result<Option<String>> {
        Ok(self.store.durability_risk().await?)
    }

    /// The store's time, formatted for a record (a heartbeat).
    pub async fn now_stamp(&self) -> Result<String> {
        Ok(crate::time::format(self.now().await?))
    }

    /// Takes the lease `key` for `ttl` unless someone holds it; the lease when taken.
    pub async fn try_lease(&self, key: &str, ttl: Duration) -> Result<Option<Lease>> {
        // A token of this holder's own: giving the lease back removes it only while it is
        // still this holder's (its ttl may have run out and another taken it meanwhile).
        let token = Bytes::from(crate::ids::new_id());
        match self
            .store
            .put(Table::Leases, key, token.clone(), Expect::Absent, Some(ttl))
            .await
        {
            Ok(_) => Ok(Some(Lease {
                key: key.to_string(),
                token,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Removes the record at `key` only while it is exactly `record` (nobody wrote it since);
    /// whether it did.
    pub async fn delete_if_unchanged<M: Message>(
        &self,
        table: Table,
        key: &str,
        record: &M,
    ) -> Result<bool> {
        Ok(self
            .store
            .delete_if_value(table, key, &record.encode_to_vec(), &[])
            .await?)
    }

    /// Gives `lease` back before its ttl runs out, unless it ran out and is another's now;
    /// whether it was still held.
    pub async fn release_lease(&self, lease: Lease) -> Result<bool> {
        Ok(self
            .store
            .delete_if_value(Table::Leases, &lease.key, &lease.token, &[])
            .await?)
    }

    /// Removes an actor and everything that belongs to it.
    pub async fn purge_actor(&self, actor_id: &str) -> Result<()> {
        let prefix = format!("{actor_id}/");
        for table in [
            Table::Executions,
            Table::Logs,
            Table::Results,
            Table::Workers,
            Table::Nonces,
            Table::DeadLetters,
            Table::ExecutionOrder,
            Table::OpenExecutions,
        ] {
            self.store.delete_prefix(table, &prefix).await?;
        }
        self.store.delete(Table::Permissions, actor_id).await?;
        self.store.delete(Table::ConfigIndex, actor_id).await?;
        self.store.delete(Table::State, actor_id).await?;
        self.store.delete(Table::Actors, actor_id).await?;
        Ok(())
    }
}

/// A store error of an insert, with a conflict said as the key being taken.
fn key_taken(table: Table, key: &str, error: StoreError) -> AbacoError {
    match error {
        StoreError::Conflict => AbacoError::Conflict(format!("{} {key} exists", table.name())),
        other => other.into(),
    }
}

fn table_kind(table: Table) -> &'static str {
    match table {
        Table::Actors => "actor",
        Table::Executions => "execution",
        Table::Logs => "logs",
        Table::Results => "results",
        Table::Workers => "worker",
        Table::State => "state",
        Table::Spawners => "spawner",
        Table::Leases => "lease",
        Table::Meta => "meta",
        Table::Permissions => "permissions",
        Table::Aliases => "alias",
        Table::Nonces => "nonce",
        Table::Configs => "config",
        Table::ConfigIndex => "config index",
        Table::DeadLetters => "dead letter",
        Table::ExecutionOrder | Table::OpenExecutions => "execution index entry",
    }
}
