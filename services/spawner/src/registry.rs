//! Spawners announce themselves in the store and keep a heartbeat there; the fleet only
//! places workers on spawners whose heartbeat is fresh.

use std::time::Duration;

use abaco::{Result, pb, records::Records, store::Table, time};
use tokio_util::sync::CancellationToken;

/// How often a spawner renews its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// A heartbeat older than this marks the spawner dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// One spawner's entry in the store.
#[derive(Debug, Clone)]
pub struct Registration {
    records: Records,
    info: pb::SpawnerInfo,
}

impl Registration {
    /// An entry for a spawner reachable at `addr`.
    pub fn new(records: Records, id: String, host_id: String, addr: String, capacity: u32) -> Self {
        Self {
            records,
            info: pb::SpawnerInfo {
                id,
                host_id,
                addr,
                capacity,
                running: 0,
                heartbeat_time: String::new(),
            },
        }
    }

    /// The spawner's id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The spawner as last announced.
    pub fn info(&self) -> &pb::SpawnerInfo {
        &self.info
    }

    /// Writes the entry with a fresh heartbeat and the number of workers running.
    pub async fn beat(&mut self, running: u32) -> Result<()> {
        self.info.running = running;
        self.info.heartbeat_time = time::now();
        self.records
            .save(Table::Spawners, &self.info.id, &self.info)
            .await
    }

    /// Beats every [`HEARTBEAT_EVERY`] until `stop`, then removes the entry.
    pub async fn keep_alive(mut self, running: impl Fn() -> u32 + Send, stop: CancellationToken) {
        loop {
            if let Err(error) = self.beat(running()).await {
                tracing::warn!(%error, "spawner heartbeat failed");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(HEARTBEAT_EVERY) => {}
            }
        }
        if let Err(error) = self.records.delete(Table::Spawners, &self.info.id).await {
            tracing::warn!(%error, "could not remove the spawner's entry");
        }
    }
}

/// Spawners whose heartbeat is younger than [`HEARTBEAT_TIMEOUT`].
pub async fn live_spawners(records: &Records) -> Result<Vec<pb::SpawnerInfo>> {
    let spawners: Vec<pb::SpawnerInfo> = records.list(Table::Spawners, "").await?;
    Ok(spawners
        .into_iter()
        .filter(|s| !time::older_than(&s.heartbeat_time, HEARTBEAT_TIMEOUT))
        .collect())
}
