//! Latency samples and the figures drawn from them.

use std::time::Duration;

/// Latencies of one measured series, with its wall time and error count.
#[derive(Debug, Clone, Default)]
pub struct Series {
    samples: Vec<Duration>,
    /// Wall time of the whole series.
    pub elapsed: Duration,
    /// Operations that failed (not in `samples`).
    pub errors: usize,
    /// The first failure, if any, to say what went wrong.
    pub first_error: Option<String>,
}

impl Series {
    /// A series of `samples` that took `elapsed` in all.
    pub fn new(mut samples: Vec<Duration>, elapsed: Duration, errors: usize) -> Self {
        samples.sort_unstable();
        Self {
            samples,
            elapsed,
            errors,
            first_error: None,
        }
    }

    /// The same series, noting its first failure.
    pub fn with_first_error(mut self, error: Option<String>) -> Self {
        self.first_error = error;
        self
    }

    /// Both series as one: their samples, wall times and errors added up.
    pub fn merge(mut self, other: Self) -> Self {
        self.samples.extend(other.samples);
        self.samples.sort_unstable();
        self.elapsed += other.elapsed;
        self.errors += other.errors;
        self.first_error = self.first_error.or(other.first_error);
        self
    }

    /// Successful operations.
    pub fn count(&self) -> usize {
        self.samples.len()
    }

    /// Successful operations per second of wall time.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.count() as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) by nearest rank; zero for an empty series.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.samples.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1]
    }

    /// Nothing when all went well, else how many failed and the first reason.
    pub fn errors_note(&self) -> String {
        match (self.errors, &self.first_error) {
            (0, _) => String::new(),
            (n, Some(first)) => format!(" ({n} errors, first: {first})"),
            (n, None) => format!(" ({n} errors)"),
        }
    }

    /// The median.
    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

/// Milliseconds with a precision that suits the magnitude.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let s = Series::new(samples, Duration::from_secs(2), 0);
        assert_eq!(s.p50(), Duration::from_millis(50));
        assert_eq!(s.p99(), Duration::from_millis(99));
        assert!((s.rate() - 50.0).abs() < 1e-9);
        assert_eq!(Series::default().p99(), Duration::ZERO);
    }

    #[test]
    fn merged_series_add_up() {
        let a = Series::new(vec![Duration::from_millis(3)], Duration::from_secs(1), 1)
            .with_first_error(Some("first".into()));
        let b = Series::new(
            vec![Duration::from_millis(1), Duration::from_millis(2)],
            Duration::from_secs(2),
            1,
        )
        .with_first_error(Some("second".into()));
        let m = a.merge(b);
        assert_eq!(m.count(), 3);
        assert_eq!(m.p50(), Duration::from_millis(2));
        assert!((m.rate() - 1.0).abs() < 1e-9);
        assert_eq!(m.errors, 2);
        assert_eq!(m.first_error.as_deref(), Some("first"));
    }
}
