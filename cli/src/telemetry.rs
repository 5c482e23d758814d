//! Logs to stderr, filtered by `ABACO_LOG` (or `RUST_LOG`), e.g. `ABACO_LOG=abaco=debug`; and,
//! when `otlp_endpoint` is set, exports spans over OTLP/gRPC to it as service
//! `abaco-<component>`, with the W3C trace context propagated across gRPC and mailboxes (see
//! `abaco::trace_context`).
//!
//! Spans leave through a batch processor on its own thread with a bounded queue: a slow or
//! absent collector costs dropped spans, never a blocked or failed request.

use std::time::Duration;

use abaco::settings::Settings;
use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    EnvFilter, Layer, filter::Targets, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

/// Flushes and stops the span exporter when dropped; hold it until the process ends.
#[derive(Debug)]
#[must_use = "dropping the guard stops exporting traces"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    /// Longest wait at exit for the last spans to reach the collector.
    flush_for: Duration,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown_with_timeout(self.flush_for)
        {
            tracing::warn!(%error, "traces not all exported at exit");
        }
    }
}

/// Installs the process-wide subscriber for `component` (`gateway`, `worker`, ...). Call it
/// inside the Tokio runtime: the exporter's gRPC channel lives there.
pub fn init(settings: &Settings, component: &str) -> anyhow::Result<TelemetryGuard> {
    let filter = std::env::var("ABACO_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let (provider, failure) = match settings.otlp_endpoint.as_deref() {
        None => (None, None),
        Some(endpoint) => match tracer_provider(endpoint, component) {
            Ok(provider) => (Some(provider), None),
            Err(error) => (None, Some((endpoint, error))),
        },
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("abaco"))
            .with_filter(not_the_exporter())
    });
    // The log filter is the log's own: `ABACO_LOG=warn` quiets stderr without emptying traces.
    tracing_subscriber::registry()
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(EnvFilter::try_new(filter)?),
        )
        .with(otel)
        .try_init()
        .map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))?;
    if provider.is_some() {
        global::set_text_map_propagator(TraceContextPropagator::new());
    }
    if let Some((endpoint, error)) = failure {
        tracing::warn!(endpoint, %error, "OTLP exporter not started; traces are not exported");
    }
    Ok(TelemetryGuard {
        provider,
        flush_for: Duration::from_secs(settings.telemetry_flush_secs),
    })
}

/// A tracer provider that batches spans to the OTLP/gRPC collector at `endpoint`. The channel
/// connects lazily: a collector that is down only makes exports fail, and they are dropped.
fn tracer_provider(endpoint: &str, component: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let resource = Resource::builder()
        .with_service_name(format!("abaco-{component}"))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(exporter)
        .build())
}

/// Info-level spans (the platform's own: requests, sends, executions, Docker calls), but none of
/// the crates that carry the export itself, so that exporting never produces more to export.
fn not_the_exporter() -> Targets {
    Targets::new().with_default(LevelFilter::INFO).with_targets(
        ["h2", "hyper", "tonic", "tower::", "opentelemetry"]
            .map(|target| (target, LevelFilter::OFF)),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "multi_thread")]
    async fn an_absent_collector_neither_fails_nor_blocks_shutdown() {
        // Nothing listens on port 1.
        let provider = tracer_provider("http://127.0.0.1:1", "test").unwrap();
        let tracer = provider.tracer("test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("lost").in_scope(|| tracing::info!("nobody hears this"));
        });
        let flush_for = Duration::from_secs(Settings::default().telemetry_flush_secs);
        let started = Instant::now();
        let _ = provider.shutdown_with_timeout(flush_for);
        assert!(started.elapsed() < flush_for + Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_malformed_endpoint_is_an_error_not_a_panic() {
        assert!(tracer_provider("not a uri", "test").is_err());
    }
}
