//! Store backends: an embedded file store (redb) and Redis (fred).
//!
//! Both implement [`abaco::store::Store`] with the same semantics, checked by one conformance
//! suite in `tests/`: versions start at 1 and grow by one per write, compare-and-set is atomic,
//! expired entries are absent everywhere, and scans return live entries in key order.

mod clock;
mod group_commit;
#[cfg(feature = "testing")]
pub mod interleave;
mod redb_store;
mod redis_scripts;
mod redis_store;

use std::{sync::Arc, time::Duration};

use abaco::{
    settings::{Backend, Settings},
    store::{Store, StoreError},
};

pub use group_commit::{CommitError, GroupCommit};
pub use redb_store::{Guarded, RedbStore, insert_guarded_in};
pub use redis_store::{DEFAULT_PREFIX, RedisOptions, RedisStore};

/// The store the settings ask for: a redb file at `data_dir/store.redb` for the embedded
/// backend, Redis at `redis_url` for the distributed one.
pub async fn open(settings: &Settings) -> Result<Arc<dyn Store>, StoreError> {
    match settings.backend {
        Backend::Embedded => Ok(Arc::new(open_embedded(settings).await?)),
        Backend::Distributed => Ok(Arc::new(
            RedisStore::connect_with(
                &settings.redis_url,
                &settings.namespace,
                RedisOptions {
                    pool_size: settings.redis_pool_size,
                    connect_timeout: Duration::from_secs(settings.redis_connect_timeout_secs),
                    command_timeout: Duration::from_secs(settings.redis_command_timeout_secs),
                },
            )
            .await?,
        )),
    }
}

/// The embedded store at `data_dir/store.redb`, as its own type (the embedded mailboxes live
/// in the same file).
pub async fn open_embedded(settings: &Settings) -> Result<RedbStore, StoreError> {
    let path = settings.data_dir.join("store.redb");
    // Opening touches the disk and may wait on the file lock: keep it off the runtime.
    tokio::task::spawn_blocking(move || RedbStore::open(&path))
        .await
        .map_err(|e| StoreError::Backend(format!("opening the store: {e}")))?
}
