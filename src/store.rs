//! The store: where every record lives. One small trait, a keyed table of versioned values with
//! compare-and-set writes, so that the embedded file backend and the Redis backend behave the
//! same and two components can never race a record into a wrong state. Typed access to the
//! records sits on top of it in [`crate::records`].

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// The tables of the store. Keys inside a table are `/`-separated paths, e.g.
/// `{actor_id}/{execution_id}`, so that everything of one actor can be found by prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Actors by id.
    Actors,
    /// Executions by `{actor_id}/{execution_id}`.
    Executions,
    /// Container logs by `{actor_id}/{execution_id}`.
    Logs,
    /// Results by `{actor_id}/{execution_id}`.
    Results,
    /// Workers by `{actor_id}/{worker_id}`.
    Workers,
    /// State of stateful actors by actor id.
    State,
    /// Spawners by id.
    Spawners,
    /// Short-lived locks by `{actor_id}/{purpose}`, taken with `Expect::Absent` and a ttl.
    Leases,
    /// Facts about the platform itself, e.g. its instance id.
    Meta,
    /// Grants beyond the owner's, by actor id, or by `@{tenant}/{alias}` for an alias.
    Permissions,
    /// Aliases by `{tenant}/{alias}`.
    Aliases,
    /// Nonces by `{actor_id}/{nonce_id}`, or `@{tenant}/{alias}/{nonce_id}` for an alias's.
    Nonces,
    /// Actor configs by `{tenant}/{name}`.
    Configs,
    /// The configs of each actor (`ConfigNames`), by actor id.
    ConfigIndex,
    /// Messages put aside instead of run (`DeadLetter`), by `{actor_id}/{execution_id}`.
    DeadLetters,
    /// An actor's executions in the order they were accepted: empty entries keyed
    /// `{actor_id}/{accepted, ms since the epoch, 13 digits}/{execution_id}`, so that a page of
    /// them and the retention purge never read more than they show or remove.
    ExecutionOrder,
    /// The executions not yet ended, empty entries by `{actor_id}/{execution_id}`: all the
    /// stuck-execution sweep reads.
    OpenExecutions,
}

impl Table {
    /// Every table, for backends that create them up front.
    pub const ALL: [Table; 17] = [
        Table::Actors,
        Table::Executions,
        Table::Logs,
        Table::Results,
        Table::Workers,
        Table::State,
        Table::Spawners,
        Table::Leases,
        Table::Meta,
        Table::Permissions,
        Table::Aliases,
        Table::Nonces,
        Table::Configs,
        Table::ConfigIndex,
        Table::DeadLetters,
        Table::ExecutionOrder,
        Table::OpenExecutions,
    ];

    /// The table's name in the backend.
    pub fn name(self) -> &'static str {
        match self {
            Table::Actors => "actors",
            Table::Executions => "executions",
            Table::Logs => "logs",
            Table::Results => "results",
            Table::Workers => "workers",
            Table::State => "state",
            Table::Spawners => "spawners",
            Table::Leases => "leases",
            Table::Meta => "meta",
            Table::Permissions => "permissions",
            Table::Aliases => "aliases",
            Table::Nonces => "nonces",
            Table::Configs => "configs",
            Table::ConfigIndex => "config_index",
            Table::DeadLetters => "dead_letters",
            Table::ExecutionOrder => "execution_order",
            Table::OpenExecutions => "open_executions",
        }
    }
}

/// A stored value and its version. Versions start at 1 and grow by one with every write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// Incremented on every write of the key.
    pub version: u64,
    /// The stored bytes.
    pub value: Bytes,
}

/// What a write expects to find, for compare-and-set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// Write only if the key does not exist.
    Absent,
    /// Write only if the key exists at exactly this version.
    Version(u64),
}

/// One page of a [`Store::scan_page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The live entries of the page, in key order.
    pub entries: Vec<(String, Versioned)>,
    /// The last key the page passed over (live or not), when more may follow: the next page
    /// starts after it.
    pub next: Option<String>,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The compare-and-set expectation did not hold.
    #[error("the record changed concurrently")]
    Conflict,
    /// The backend could not be reached or failed.
    #[error("store backend: {0}")]
    Backend(String),
}

/// A keyed, versioned, compare-and-set store.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The value at `key`, if present and not expired.
    async fn get(&self, table: Table, key: &str) -> Result<Option<Versioned>, StoreError>;

    /// Writes `value` at `key` if `expect` holds, and returns the new version. A `ttl` makes
    /// the value expire; `None` keeps it until deleted.
    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, StoreError>;

    /// Writes `value` at `key` if nothing is there, provided the entry `guard_key` of
    /// `guard_table` exists, in one atomic step; the guard's value, or `None` (and nothing
    /// written) when there is no guard. `Conflict` when `key` is taken. One round trip
    /// where a read of the guard and a `put` would take two, and no write can outlive a
    /// guard deleted in between. The entries of `also` (index entries of the record) are
    /// written empty in the same step, so that no record is ever missing from its indexes.
    async fn insert_guarded(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        guard: (Table, &str),
        also: &[(Table, String)],
    ) -> Result<Option<Versioned>, StoreError>;

    /// Removes `key`; whether it existed.
    async fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError>;

    /// Removes `key` only while its bytes are `value`, with the entries of `also` (what
    /// belongs to the record: its index entries, its logs), in one atomic step; whether it
    /// did. A lease's holder gives it back this way, so that it never removes the next
    /// holder's.
    async fn delete_if_value(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        also: &[(Table, String)],
    ) -> Result<bool, StoreError>;

    /// Every live entry whose key starts with `prefix`, in key order.
    async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned)>, StoreError>;

    /// At most `limit` keys whose key starts with `prefix`, after the key `after` (from the
    /// first when `None`), passing over the first `skip` of them; the live ones with their
    /// values. Reads only what it returns (and the entries it skips in the backend's index).
    async fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Page, StoreError>;

    /// How many keys start with `prefix`, without reading them. A backend that removes
    /// expired entries lazily may count some of those.
    async fn count_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError>;

    /// The values at `keys`, in their order, in one round trip.
    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Versioned>>, StoreError>;

    /// Removes every entry whose key starts with `prefix`; how many went.
    async fn delete_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError>;

    /// The store's own time: the one clock every host's heartbeats are written and judged by,
    /// so that hosts whose clocks disagree cannot take a live worker for dead (and run its
    /// message twice). A store only one process opens may answer with that process's clock.
    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        Ok(chrono::Utc::now())
    }

    /// Why an acknowledged write could be lost on a power failure, if it could (a store that
    /// syncs every commit to disk answers `None`).
    async fn durability_risk(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}
