//! gRPC channels to spawners and workers, made once per address and reused (tonic channels
//! multiplex calls and reconnect by themselves), and the internal token every control call
//! carries.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use abaco::{AbacoError, Result, secret::Secret};
use tonic::transport::{Channel, Endpoint};

/// How long a control call may take before it counts as failed, unless set.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A cache of lazily connected channels by address.
#[derive(Debug, Clone)]
pub struct Channels {
    by_addr: Arc<Mutex<HashMap<String, Channel>>>,
    internal_token: Option<Secret>,
    call_timeout: Duration,
}

impl Channels {
    /// Channels whose calls carry `internal_token`.
    pub fn new(internal_token: Option<Secret>) -> Self {
        Self {
            by_addr: Arc::default(),
            internal_token,
            call_timeout: CALL_TIMEOUT,
        }
    }

    /// The channels, giving up on a call after `timeout`. Channels made before keep theirs.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The token control calls carry.
    pub fn internal_token(&self) -> Option<&Secret> {
        self.internal_token.as_ref()
    }

    /// A control call of `message`, with the internal token.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        abaco_auth::grpc::attach_internal(
            &mut request,
            self.internal_token.as_ref().map(Secret::expose),
        );
        request
    }

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
            .timeout(self.call_timeout)
            .connect_lazy();
        cache.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }
}
