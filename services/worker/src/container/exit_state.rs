//! What Docker says about a container that has stopped: the `finalState` abaco shows, its
//! times, and whether the kernel killed it for memory.
//!
//! Docker learns of a memory kill from an OOM event that races the container's exit: when the
//! container ends within milliseconds of the kill (a shell whose child was killed, or a killed
//! PID 1 under Docker's init), the exit may be handled first and the state then says
//! `OOMKilled: false` for good (Docker 20.10 never corrects it), while the `oom` event still
//! arrives moments later. So a run that ended by itself with SIGKILL's exit code is checked
//! against Docker's events before it is called anything but out of memory.

use std::{collections::HashMap, time::Duration};

use bollard::query_parameters::EventsOptionsBuilder;
use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::DockerRunner;

/// The exit code of a process ended by SIGKILL, which is how the OOM killer ends one.
pub(super) const KILLED_EXIT_CODE: i64 = 137;

impl DockerRunner {
    /// Whether Docker reports an `oom` event for container `id` since `started`, waiting up to
    /// the runner's `oom_report_wait` for one to arrive late.
    pub(super) async fn oom_event_reported(&self, id: &str, started: DateTime<Utc>) -> bool {
        let wait = self.oom_report_wait;
        if wait.is_zero() {
            return false;
        }
        // Docker's clock may run a little apart from Docker's own timestamps of the run.
        let since = started - chrono::Duration::seconds(1);
        let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("container", vec![id.to_string()]),
            ("event", vec!["oom".to_string()]),
        ]);
        let options = EventsOptionsBuilder::default()
            .since(&unix_time(since))
            .until(&unix_time(until))
            .filters(&filters)
            .build();
        let mut events = self.docker.events(Some(options));
        let first = tokio::time::timeout(wait + Duration::from_millis(100), events.next()).await;
        match first {
            Ok(Some(Ok(_))) => {
                tracing::info!(
                    container = id,
                    "Docker reported the OOM kill after the exit"
                );
                true
            }
            Ok(Some(Err(error))) => {
                tracing::warn!(container = id, %error, "could not read Docker's events");
                false
            }
            Ok(None) | Err(_) => false,
        }
    }
}

/// Docker's `since`/`until` form: Unix seconds with a fraction.
fn unix_time(time: DateTime<Utc>) -> String {
    format!("{}.{:09}", time.timestamp(), time.timestamp_subsec_nanos())
}

/// The parts of Docker's `State` abaco shows as `finalState`, with Docker's names.
pub(super) fn final_state(state: &bollard::models::ContainerState) -> String {
    const SHOWN: [&str; 11] = [
        "Status",
        "Running",
        "Paused",
        "Restarting",
        "OOMKilled",
        "Dead",
        "Pid",
        "ExitCode",
        "Error",
        "StartedAt",
        "FinishedAt",
    ];
    match serde_json::to_value(state) {
        Ok(serde_json::Value::Object(mut all)) => {
            all.retain(|key, _| SHOWN.contains(&key.as_str()));
            serde_json::Value::Object(all).to_string()
        }
        _ => String::new(),
    }
}

/// Docker's "0001-01-01T00:00:00Z" means "never"; anything unparsable is treated the same.
pub(super) fn parse_docker_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.timestamp() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_zero_time_means_none() {
        assert_eq!(parse_docker_time("0001-01-01T00:00:00Z"), None);
        let t = parse_docker_time("2024-05-01T10:00:00.123456789Z");
        assert_eq!(t.map(|t| t.timestamp_subsec_millis()), Some(123));
    }

    #[test]
    fn event_times_are_unix_seconds_with_nanoseconds() {
        let t = parse_docker_time("2024-05-01T10:00:00.000000042Z").expect("a time");
        assert_eq!(unix_time(t), "1714557600.000000042");
    }
}
