//! gRPC channels to spawners and workers, made once per address and reused: tonic channels
//! multiplex calls and reconnect by themselves.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use abaco::{AbacoError, Result};
use tonic::transport::{Channel, Endpoint};

/// How long a control call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A cache of lazily connected channels by address.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    by_addr: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Channels {
    /// The channel to `addr` (`host:port`).
    pub fn get(&self, addr: &str) -> Result<Channel> {
        let mut cache = self
            .by_addr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(channel) = cache.get(addr) {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| AbacoError::internal(format!("bad control address {addr}: {e}")))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(CALL_TIMEOUT)
            .connect_lazy();
        cache.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}
