//! Worker processes' metrics, relayed to their spawner: a worker process serves no `/metrics`
//! of its own (a host runs hundreds, on ports nobody scrapes), so what it records (runs ended,
//! their durations, container starts) goes to its spawner, which records the same samples in
//! its own registry and serves them with its metrics.
//!
//! The worker side is a `metrics` recorder that forwards each sample over a channel; a task
//! sends whatever has gathered in one `ReportMetrics` call. Best effort: a sample that cannot
//! be delivered is dropped with a warning, never holding up a run.

use std::sync::Arc;

use abaco::{
    pb::{self, spawner_client::SpawnerClient},
    secret::Secret,
};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use tokio::sync::mpsc;

use crate::channels::Channels;

/// Most samples waiting to be sent; past this, new ones are dropped (a spawner that does not
/// answer must not grow a worker's memory).
const BACKLOG: usize = 10_000;

/// Records `samples` in this process's registry (the spawner's).
pub fn replay(samples: pb::MetricSamples) {
    for sample in samples.samples {
        let kind = sample.kind();
        let labels: Vec<(String, String)> = sample
            .labels
            .into_iter()
            .map(|label| (label.key, label.value))
            .collect();
        let name = sample.name;
        match kind {
            pb::MetricKind::Counter => {
                metrics::counter!(name, &labels).increment(sample.value as u64);
            }
            pb::MetricKind::Gauge => metrics::gauge!(name, &labels).set(sample.value),
            pb::MetricKind::Histogram => metrics::histogram!(name, &labels).record(sample.value),
        }
    }
}

/// Installs, for this worker process, the recorder that relays to the spawner at `addr`
/// (calls carry `internal_token`). Must be called inside a tokio runtime.
pub fn install(addr: &str, internal_token: Option<Secret>) -> Result<(), abaco::AbacoError> {
    let channels = Channels::new(internal_token);
    let (samples, mut gathered) = mpsc::channel::<pb::MetricSample>(BACKLOG);
    let channel = channels.get(addr)?;
    metrics::set_global_recorder(Relay { samples })
        .map_err(|e| abaco::AbacoError::internal(format!("metrics recorder: {e}")))?;
    tokio::spawn(async move {
        let mut client = SpawnerClient::new(channel);
        while let Some(first) = gathered.recv().await {
            let mut batch = vec![first];
            while let Ok(next) = gathered.try_recv() {
                batch.push(next);
            }
            let request = channels.request(pb::MetricSamples { samples: batch });
            if let Err(status) = client.report_metrics(request).await {
                tracing::warn!(%status, "metrics not relayed to the spawner");
            }
        }
    });
    Ok(())
}

/// The worker process's recorder.
#[derive(Debug)]
struct Relay {
    samples: mpsc::Sender<pb::MetricSample>,
}

impl Relay {
    fn handle(&self, key: &Key, kind: pb::MetricKind) -> Arc<Forward> {
        Arc::new(Forward {
            name: key.name().to_string(),
            labels: key
                .labels()
                .map(|label| pb::MetricLabel {
                    key: label.key().to_string(),
                    value: label.value().to_string(),
                })
                .collect(),
            kind,
            samples: self.samples.clone(),
        })
    }
}

impl Recorder for Relay {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key, pb::MetricKind::Counter))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key, pb::MetricKind::Gauge))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key, pb::MetricKind::Histogram))
    }
}

/// One series of the worker process, each change of which becomes a sample.
#[derive(Debug)]
struct Forward {
    name: String,
    labels: Vec<pb::MetricLabel>,
    kind: pb::MetricKind,
    samples: mpsc::Sender<pb::MetricSample>,
}

impl Forward {
    fn send(&self, value: f64) {
        let sample = pb::MetricSample {
            name: self.name.clone(),
            labels: self.labels.clone(),
            kind: self.kind.into(),
            value,
        };
        if self.samples.try_send(sample).is_err() {
            tracing::debug!(metric = %self.name, "metrics backlog full; sample dropped");
        }
    }
}

impl CounterFn for Forward {
    fn increment(&self, value: u64) {
        self.send(value as f64);
    }

    fn absolute(&self, value: u64) {
        self.send(value as f64);
    }
}

impl GaugeFn for Forward {
    fn increment(&self, _: f64) {}

    fn decrement(&self, _: f64) {}

    fn set(&self, value: f64) {
        self.send(value);
    }
}

impl HistogramFn for Forward {
    fn record(&self, value: f64) {
        self.send(value);
    }
}
