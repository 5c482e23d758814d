//! Logs to stderr, filtered by `ABACO_LOG` (or `RUST_LOG`), e.g. `ABACO_LOG=abaco=debug`.

use abaco::settings::Settings;
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the process-wide subscriber.
pub fn init(_settings: &Settings) -> anyhow::Result<()> {
    let filter = std::env::var("ABACO_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    fmt()
        .with_env_filter(EnvFilter::try_new(filter)?)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}
