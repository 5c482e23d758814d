//! Spawners announce themselves in the store and keep a heartbeat there; the fleet only
//! places workers on spawners whose heartbeat is fresh.

use std::time::Duration;

use abaco::{Result, pb, records::Records, store::Table, time};
use tokio_util::sync::CancellationToken;

/// One spawner's entry in the store.
#[derive(Debug, Clone)]
pub struct Registration {
    records: Records,
    info: pb::SpawnerInfo,
}

impl Registration {
    /// An entry for the spawner `info` describes (its id, host, address, capacity, queues).
    pub fn new(records: Records, info: pb::SpawnerInfo) -> Self {
        Self { records, info }
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
        metrics::gauge!(abaco::metrics::SPAWNER_CAPACITY).set(f64::from(self.info.capacity));
        metrics::gauge!(abaco::metrics::SPAWNER_RUNNING).set(f64::from(running));
        self.info.running = running;
        self.info.heartbeat_time = self.records.now_stamp().await?;
        self.records
            .save(Table::Spawners, &self.info.id, &self.info)
            .await
    }

    /// Beats every `every` until `stop`, then removes the entry.
    pub async fn keep_alive(
        mut self,
        every: Duration,
        running: impl Fn() -> u32 + Send,
        stop: CancellationToken,
    ) {
        loop {
            if let Err(error) = self.beat(running()).await {
                tracing::warn!(%error, "spawner heartbeat failed");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
        if let Err(error) = self.records.delete(Table::Spawners, &self.info.id).await {
            tracing::warn!(%error, "could not remove the spawner's entry");
        }
    }
}

/// Spawners whose heartbeat, by the store's clock, is younger than `timeout`.
pub async fn live_spawners(records: &Records, timeout: Duration) -> Result<Vec<pb::SpawnerInfo>> {
    let now = records.now().await?;
    let spawners: Vec<pb::SpawnerInfo> = records.list(Table::Spawners, "").await?;
    Ok(spawners
        .into_iter()
        .filter(|s| !time::older_than_at(&s.heartbeat_time, timeout, now))
        .collect())
}
