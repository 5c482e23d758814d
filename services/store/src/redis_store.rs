//! The distributed backend: Redis through a fred connection pool. Every change runs as one Lua
//! script (see [`crate::redis_scripts`]), so compare-and-set holds across processes.

use std::{fmt, time::Duration};

use abaco::store::{Expect, Page, Store, StoreError, Table, Versioned};
use async_trait::async_trait;
use bytes::Bytes;
use fred::{
    prelude::{
        Builder, ClientLike, Config, Error as RedisError, HashesInterface, LuaInterface, Pool,
        ReconnectPolicy, Value,
    },
    types::{ClusterHash, CustomCommand},
};

use crate::{clock::ttl_millis, redis_scripts};

/// The key prefix [`RedisStore::connect`] uses.
pub const DEFAULT_PREFIX: &str = "abaco";

/// How the store talks to Redis: its connections and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct RedisOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// One connection attempt, and the commands a connection sends itself.
    pub connect_timeout: Duration,
    /// One command (a script included); a longer one fails, and may or may not have run.
    pub command_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
        }
    }
}

/// Secrets of the connection URL, to be scrubbed from every error message.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn of(url: &str) -> Self {
        let Some((_, rest)) = url.split_once("://") else {
            return Self::default();
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let Some((userinfo, _)) = authority.rsplit_once('@') else {
            return Self::default();
        };
        let mut secrets = vec![userinfo.to_owned()];
        if let Some((user, password)) = userinfo.split_once(':') {
            secrets.push(password.to_owned());
            secrets.push(user.to_owned());
        }
        // The client decodes `%xx` escapes, so its messages may hold the decoded forms.
        let decoded: Vec<String> = secrets.iter().filter_map(|s| percent_decode(s)).collect();
        secrets.extend(decoded);
        // Longest first, so a part never leaves pieces of the whole behind.
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self(secrets)
    }

    fn redact(&self, message: &str) -> String {
        self.0
            .iter()
            .fold(message.to_owned(), |m, secret| m.replace(secret, "***"))
    }

    fn backend(&self, error: &RedisError) -> StoreError {
        metrics::counter!(abaco::metrics::STORE_ERRORS, "backend" => "redis").increment(1);
        StoreError::Backend(self.redact(&format!("redis: {error}")))
    }
}

/// `s` with `%xx` escapes decoded, if it has any that decode to UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let raw = s.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// One Lua script and the SHA1 the server gave it.
struct Script {
    lua: &'static str,
    sha: String,
}

/// Every script of the store, loaded once at connect.
struct Scripts {
    put: Script,
    insert_guarded: Script,
    delete: Script,
    delete_if_value: Script,
    scan: Script,
    scan_page: Script,
    count_prefix: Script,
    get_many: Script,
    delete_prefix: Script,
}

impl Scripts {
    async fn load(pool: &Pool, secrets: &Secrets) -> Result<Self, StoreError> {
        Ok(Self {
            put: Script::load(pool, secrets, redis_scripts::PUT).await?,
            insert_guarded: Script::load(pool, secrets, redis_scripts::INSERT_GUARDED).await?,
            delete: Script::load(pool, secrets, redis_scripts::DELETE).await?,
            delete_if_value: Script::load(pool, secrets, redis_scripts::DELETE_IF_VALUE).await?,
            scan: Script::load(pool, secrets, redis_scripts::SCAN).await?,
            scan_page: Script::load(pool, secrets, redis_scripts::SCAN_PAGE).await?,
            count_prefix: Script::load(pool, secrets, redis_scripts::COUNT_PREFIX).await?,
            get_many: Script::load(pool, secrets, redis_scripts::GET_MANY).await?,
            delete_prefix: Script::load(pool, secrets, redis_scripts::DELETE_PREFIX).await?,
        })
    }
}

/// The Redis store. One store is shared by all tasks of a process: the pool multiplexes them,
/// and reconnects forever with backoff, so a Redis restart costs the calls made during the
/// outage (they fail with [`StoreError::Backend`]) but not the store.
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    secrets: Secrets,
    scripts: Scripts,
}

impl fmt::Debug for RedisStore {
    // By hand: the pool's configuration holds the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://:password@host:6379/0`) with the key prefix
    /// [`DEFAULT_PREFIX`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_prefix(url, DEFAULT_PREFIX).await
    }

    /// Connects to `url` and keeps every key under `prefix`, so that several deployments or
    /// test runs can share one Redis. Fails if Redis cannot be reached now.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, prefix, RedisOptions::default()).await
    }

    /// [`RedisStore::connect_with_prefix`] with `options`.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        let secrets = Secrets::of(url);
        let config = Config::from_url(url).map_err(|e| secrets.backend(&e))?;
        let pool = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = options.connect_timeout;
                c.internal_command_timeout = options.connect_timeout;
                // A script whose connection dropped may or may not have run; sending it again
                // could apply a write twice, so the caller gets the error instead.
                c.max_command_attempts = 1;
            })
            .with_performance_config(|p| {
                // Without a timeout, commands wait for a lost server forever.
                p.default_command_timeout = options.command_timeout;
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
            .build_pool(options.pool_size.max(1))
            .map_err(|e| secrets.backend(&e))?;
        // The connection task runs as long as the pool; its handle is not needed.
        let _connection = pool.init().await.map_err(|e| secrets.backend(&e))?;

        let scripts = match Scripts::load(&pool, &secrets).await {
            Ok(scripts) => scripts,
            Err(e) => {
                // Otherwise the pool would go on reconnecting with nobody to use it.
                let _ = pool.quit().await;
                return Err(e);
            }
        };
        Ok(Self {
            scripts,
            pool,
            prefix: prefix.to_owned(),
            secrets,
        })
    }

    /// The prefix of every key this store writes.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Closes the connections. Calls after this fail.
    pub async fn quit(&self) -> Result<(), StoreError> {
        self.pool.quit().await.map_err(|e| self.backend(&e))
    }

    fn backend(&self, error: &RedisError) -> StoreError {
        self.secrets.backend(error)
    }

    /// Common part of every Redis key of `table`; the braces make it the cluster hash tag.
    fn table_tag(&self, table: Table) -> String {
        format!("{{{}:{}}}", self.prefix, table.name())
    }

    fn entry_prefix(&self, table: Table) -> String {
        format!("{}:v:", self.table_tag(table))
    }

    fn entry_key(&self, table: Table, key: &str) -> String {
        format!("{}{key}", self.entry_prefix(table))
    }

    fn index_key(&self, table: Table) -> String {
        format!("{}:i", self.table_tag(table))
    }

    /// Runs `script` by SHA, loading it again if the server lost its script cache (a
    /// restarted Redis has none).
    async fn eval(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: Vec<Value>,
    ) -> Result<Value, StoreError> {
        let first = self
            .pool
            .evalsha::<Value, _, _, _>(script.sha.as_str(), keys.clone(), args.clone())
            .await;
        match first {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                Script::load(&self.pool, &self.secrets, script.lua).await?;
                self.pool
                    .evalsha::<Value, _, _, _>(script.sha.as_str(), keys, args)
                    .await
                    .map_err(|e| self.backend(&e))
            }
            other => other.map_err(|e| self.backend(&e)),
        }
    }
}

impl Script {
    /// Loads `lua` into the server's script cache.
    async fn load(pool: &Pool, secrets: &Secrets, lua: &'static str) -> Result<Self, StoreError> {
        let sha = pool
            .script_load::<String, _>(lua)
            .await
            .map_err(|e| secrets.backend(&e))?;
        Ok(Self { lua, sha })
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        // The pool's reconnecting tasks outlive its handle; stop them along with the store.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            runtime.spawn(async move {
                if let Err(e) = pool.quit().await {
                    tracing::debug!(error = ?e.kind(), "closing the redis pool");
                }
            });
        }
    }
}

fn unexpected(what: &str, value: &Value) -> StoreError {
    metrics::counter!(abaco::metrics::STORE_ERRORS, "backend" => "redis").increment(1);
    StoreError::Backend(format!(
        "redis: unexpected {what} reply of kind {:?}",
        value.kind()
    ))
}

/// The `key, version, bytes, ...` rows of a scan's reply.
fn rows_of(mut flat: impl Iterator<Item = Value>) -> Result<Vec<(String, Versioned)>, StoreError> {
    let mut found = Vec::new();
    while let (Some(key), Some(version), Some(value)) = (flat.next(), flat.next(), flat.next()) {
        let key = key
            .as_string()
            .ok_or_else(|| unexpected("scan key", &key))?;
        found.push((
            key,
            Versioned {
                version: version_of(&version)?,
                value: bytes_of(value),
            },
        ));
    }
    Ok(found)
}

fn version_of(value: &Value) -> Result<u64, StoreError> {
    value.as_u64().ok_or_else(|| unexpected("version", value))
}

fn bytes_of(value: Value) -> Bytes {
    // An empty value may come back as nil from some clients; treat both as empty.
    value.into_bytes().unwrap_or_default()
}

#[async_trait]
impl Store for RedisStore {
    async fn durability_risk(&self) -> Result<Option<String>, StoreError> {
        let mut read = std::collections::HashMap::new();
        for name in ["appendonly", "appendfsync"] {
            let config = CustomCommand::new_static("CONFIG", ClusterHash::Random, false);
            let reply: std::collections::HashMap<String, String> = self
                .pool
                .custom(config, vec!["GET", name])
                .await
                .map_err(|e| self.backend(&e))?;
            read.extend(reply);
        }
        let setting = |name: &str| read.get(name).map(String::as_str).unwrap_or("unknown");
        Ok(match (setting("appendonly"), setting("appendfsync")) {
            ("yes", "always") => None,
            ("yes", fsync) => Some(format!(
                "Redis appends every write but syncs it to disk {fsync} (appendfsync), not always: \
                 a power failure loses what was accepted since the last sync"
            )),
            (append, _) => Some(format!(
                "Redis keeps no append-only file (appendonly {append}): a restart loses what was \
                 accepted since its last snapshot"
            )),
        })
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        let time = CustomCommand::new_static("TIME", ClusterHash::Random, false);
        let reply: Vec<i64> = self
            .pool
            .custom(time, Vec::<Value>::new())
            .await
            .map_err(|e| self.backend(&e))?;
        // Seconds and microseconds since the epoch, as the server's clock has them.
        match reply.as_slice() {
            [seconds, micros] => chrono::DateTime::from_timestamp(
                *seconds,
                u32::try_from(*micros * 1000).unwrap_or(0),
            )
            .ok_or_else(|| StoreError::Backend(format!("redis: TIME out of range: {reply:?}"))),
            _ => Err(StoreError::Backend(format!(
                "redis: unexpected TIME reply {reply:?}"
            ))),
        }
    }

    async fn get(&self, table: Table, key: &str) -> Result<Option<Versioned>, StoreError> {
        let row: Vec<Value> = self
            .pool
            .hmget(self.entry_key(table, key), vec!["v", "d"])
            .await
            .map_err(|e| self.backend(&e))?;
        let mut row = row.into_iter();
        match (row.next(), row.next()) {
            (Some(Value::Null) | None, _) => Ok(None),
            (Some(version), value) => Ok(Some(Versioned {
                version: version_of(&version)?,
                value: value.map(bytes_of).unwrap_or_default(),
            })),
        }
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Bytes,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, StoreError> {
        let (mode, expected) = match expect {
            Expect::Any => ("any", 0),
            Expect::Absent => ("absent", 0),
            Expect::Version(v) => ("version", v),
        };
        let ttl = ttl.map_or(0, ttl_millis);
        let args = vec![
            Value::from(mode),
            Value::from(expected.to_string()),
            Value::Bytes(value),
            Value::from(ttl.to_string()),
            Value::from(key),
        ];
        let keys = vec![self.entry_key(table, key), self.index_key(table)];
        let reply = self.eval(&self.scripts.put, keys, args).await?;
        match reply {
            Value::Integer(-1) => Err(StoreError::Conflict),
            other => version_of(&other),
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
        let mut keys = vec![
            self.entry_key(table, key),
            self.index_key(table),
            self.entry_key(guard.0, guard.1),
        ];
        let mut args = vec![Value::Bytes(value), Value::from(key)];
        for (index, entry) in also {
            keys.push(self.entry_key(*index, entry));
            keys.push(self.index_key(*index));
            args.push(Value::from(entry.as_str()));
        }
        let reply = self.eval(&self.scripts.insert_guarded, keys, args).await?;
        let Value::Array(reply) = reply else {
            return Err(unexpected("insert_guarded", &reply));
        };
        let mut reply = reply.into_iter();
        match (reply.next(), reply.next(), reply.next()) {
            (Some(Value::Integer(0)), None, None) => Ok(None),
            (Some(Value::Integer(-1)), None, None) => Err(StoreError::Conflict),
            (Some(Value::Integer(_)), Some(version), guard) => Ok(Some(Versioned {
                version: version_of(&version)?,
                value: guard.map(bytes_of).unwrap_or_default(),
            })),
            (first, ..) => Err(unexpected("insert_guarded", &first.unwrap_or(Value::Null))),
        }
    }

    async fn delete(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        let keys = vec![self.entry_key(table, key), self.index_key(table)];
        let reply = self
            .eval(&self.scripts.delete, keys, vec![Value::from(key)])
            .await?;
        Ok(version_of(&reply)? > 0)
    }

    async fn delete_if_value(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        also: &[(Table, String)],
    ) -> Result<bool, StoreError> {
        let mut keys = vec![self.entry_key(table, key), self.index_key(table)];
        let mut args = vec![
            Value::from(key),
            Value::Bytes(Bytes::copy_from_slice(value)),
        ];
        for (other, entry) in also {
            keys.push(self.entry_key(*other, entry));
            keys.push(self.index_key(*other));
            args.push(Value::from(entry.as_str()));
        }
        let reply = self.eval(&self.scripts.delete_if_value, keys, args).await?;
        Ok(version_of(&reply)? > 0)
    }

    async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let args = vec![Value::from(self.entry_prefix(table)), Value::from(prefix)];
        let reply = self
            .eval(&self.scripts.scan, vec![self.index_key(table)], args)
            .await?;
        let flat = match reply {
            Value::Array(flat) => flat,
            // An empty Lua table may arrive as nil.
            Value::Null => Vec::new(),
            other => return Err(unexpected("scan", &other)),
        };
        rows_of(flat.into_iter())
    }

    async fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let args = vec![
            Value::from(self.entry_prefix(table)),
            Value::from(prefix),
            Value::from(after.unwrap_or_default()),
            Value::from(skip.to_string()),
            Value::from(limit.to_string()),
        ];
        let reply = self
            .eval(&self.scripts.scan_page, vec![self.index_key(table)], args)
            .await?;
        let Value::Array(flat) = reply else {
            return Err(unexpected("scan_page", &reply));
        };
        let mut flat = flat.into_iter();
        let next = flat
            .next()
            .and_then(|next| next.as_string())
            .filter(|next| !next.is_empty());
        Ok(Page {
            entries: rows_of(flat)?,
            next,
        })
    }

    async fn count_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        let reply = self
            .eval(
                &self.scripts.count_prefix,
                vec![self.index_key(table)],
                vec![Value::from(prefix)],
            )
            .await?;
        version_of(&reply)
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Versioned>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let entries = keys.iter().map(|key| self.entry_key(table, key)).collect();
        let reply = self
            .eval(&self.scripts.get_many, entries, Vec::new())
            .await?;
        let Value::Array(flat) = reply else {
            return Err(unexpected("get_many", &reply));
        };
        let mut found = Vec::with_capacity(keys.len());
        let mut flat = flat.into_iter();
        while let (Some(version), Some(value)) = (flat.next(), flat.next()) {
            found.push(match version.as_bytes() {
                Some([]) => None,
                _ => Some(Versioned {
                    version: version_of(&version)?,
                    value: bytes_of(value),
                }),
            });
        }
        Ok(found)
    }

    async fn delete_prefix(&self, table: Table, prefix: &str) -> Result<u64, StoreError> {
        let args = vec![Value::from(self.entry_prefix(table)), Value::from(prefix)];
        let reply = self
            .eval(
                &self.scripts.delete_prefix,
                vec![self.index_key(table)],
                args,
            )
            .await?;
        version_of(&reply)
    }
}

#[cfg(test)]
mod tests {
    use super::Secrets;

    #[test]
    fn secrets_of_urls() {
        let s = Secrets::of("redis://user:p%40ss@host:6379/0");
        assert_eq!(
            s.redact("auth user:p%40ss failed for user with p@ss at host"),
            "auth *** failed for *** with *** at host"
        );
        let s = Secrets::of("redis://:only-pw@host");
        assert_eq!(s.redact("bad only-pw"), "bad ***");
        assert_eq!(Secrets::of("redis://host:6379").redact("x@y"), "x@y");
        assert_eq!(Secrets::of("not a url").redact("not a url"), "not a url");
    }
}
