//! The Prometheus exporter of a component: installed for every component, served at
//! `GET /metrics` on `metrics_addr` when that is set. The listener answers anyone who reaches
//! it (scrapers seldom carry tokens), so bind it to an interface only scrapers reach.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use abaco::settings::Settings;
use anyhow::Context;
use axum::{Router, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;
use tokio_util::sync::CancellationToken;

/// Installs the exporter as this process's recorder, labelling every series with
/// `component`; with `metrics_addr` set, serves it there until `stop`. Returns where it
/// serves.
pub async fn serve(
    settings: &Settings,
    component: &str,
    stop: CancellationToken,
) -> anyhow::Result<Option<SocketAddr>> {
    let handle = install(settings, component)?;
    let Some(addr) = settings.metrics_addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding metrics_addr {addr} (ABACO_METRICS_ADDR)"))?;
    let bound = listener.local_addr()?;
    let handle = Arc::new(handle);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                // Drops series idle past `metrics_idle_secs` (gauges of deleted actors).
                handle.run_upkeep();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "metrics endpoint stopped");
        }
    });
    tracing::info!(%bound, "metrics at /metrics");
    Ok(Some(bound))
}

fn install(settings: &Settings, component: &str) -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .add_global_label("component", component)
        .set_buckets(abaco::metrics::DURATION_BUCKETS)
        .context("metric buckets")?
        // Per-actor gauges stop moving when their actor goes; they leave the output then.
        .idle_timeout(
            MetricKindMask::GAUGE,
            Some(Duration::from_secs(settings.metrics_idle_secs)),
        )
        .install_recorder()
        .context("installing the metrics recorder")?;
    abaco::metrics::describe();
    Ok(handle)
}
