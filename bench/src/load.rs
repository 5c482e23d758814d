//! Load drivers: a closed loop at fixed concurrency and an open loop at a fixed offered rate.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::stats::Series;

/// Runs `op(0..total)` with `concurrency` calls in flight at all times; each call's latency.
pub async fn closed_loop<F, Fut>(total: usize, concurrency: usize, op: F) -> Series
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let lanes: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut errors = 0;
                let mut first = None;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return (samples, errors, first);
                    }
                    let t = Instant::now();
                    match op(n).await {
                        Ok(()) => samples.push(t.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
            })
        })
        .collect();
    let mut samples = Vec::with_capacity(total);
    let mut errors = 0;
    let mut first_error = None;
    for lane in lanes {
        match lane.await {
            Ok((s, e, first)) => {
                samples.extend(s);
                errors += e;
                first_error = first_error.or(first);
            }
            Err(_) => errors += 1,
        }
    }
    Series::new(samples, start.elapsed(), errors).with_first_error(first_error)
}

/// Offers `rate` calls per second for `duration`, whatever the answers' pace (open loop).
/// Latency counts from each call's scheduled time, so a stalled server is not hidden by
/// the client waiting for it.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, op: F) -> Series
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let start = tokio::time::Instant::now();
    let mut calls = Vec::with_capacity(total);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due).await;
        let call = op(n);
        calls.push(tokio::spawn(async move {
            let result = call.await;
            (result, due.elapsed())
        }));
    }
    let mut samples = Vec::with_capacity(total);
    let mut errors = 0;
    let mut first_error = None;
    for call in calls {
        match call.await {
            Ok((Ok(()), latency)) => samples.push(latency),
            Ok((Err(error), _)) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
            Err(_) => errors += 1,
        }
    }
    Series::new(samples, start.elapsed(), errors).with_first_error(first_error)
}
