//! `abaco-bench`: measures the platform against the raw cost of the parts it is built on
//! (Redis, RabbitMQ, the embedded redb backends, Docker), in one run on one machine, and
//! prints a table of figures, platform/baseline ratios and target verdicts.
//!
//! It starts the platform itself from the release binary, on free loopback ports with a
//! unique namespace, and removes its processes, containers and records when done.

// Printing the table of figures is this binary's job.
#![allow(clippy::print_stdout)]

mod api;
mod baseline;
mod cold;
mod exec;
mod hot;
mod ingest;
mod load;
mod memory;
mod paging;
mod platform;
mod report;
mod search;
mod stats;

use std::{path::PathBuf, time::Duration};

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};

use platform::{Environment, Topology};
use report::Row;

/// Benchmarks abaco against raw Redis/RabbitMQ/Docker baselines.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    options: Options,
}

/// What to measure.
#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
enum Command {
    /// Messages/s and latency of accepting messages (REST, gRPC), closed and open loop.
    Ingest,
    /// Message accepted to COMPLETE, and executions/s with N workers.
    Exec,
    /// Message accepted to COMPLETE on a hot actor (one running container).
    Hot,
    /// Registration to READY; first message to a worker-less actor to RUNNING.
    Cold,
    /// Resident memory of an idle worker and of `abaco up` with many actors.
    Memory,
    /// Search over many executions (distributed), against reading them from the store.
    Search,
    /// A million executions of one actor: the first page, a sweep, Redis memory per
    /// execution and after expiry (distributed). Not part of `all`: it takes minutes.
    Paging,
    /// Everything above.
    All,
}

/// Sizes, rates and places; the defaults make `all` finish in a few minutes.
#[derive(Debug, Clone, Args)]
struct Options {
    /// The `abaco` binary (default: target/release/abaco of this workspace).
    #[arg(long, global = true, env = "ABACO_BIN")]
    abaco_bin: Option<PathBuf>,
    /// Redis for the distributed platform and the raw baseline.
    #[arg(long, global = true, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// RabbitMQ for the distributed platform and the raw baseline.
    #[arg(
        long,
        global = true,
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,
    /// A setting of the platforms measured, as `ABACO_NAME=value` (repeatable), e.g.
    /// `--platform-setting ABACO_RUN_NETWORK_HOLDER=false` to measure without an idea.
    #[arg(long, global = true, value_parser = platform_setting)]
    platform_setting: Vec<(String, String)>,
    /// Topologies to measure (ingest, exec, cold); memory always measures its own pair.
    #[arg(long, global = true, value_delimiter = ',', default_values = ["distributed", "distributed-in-gateway", "embedded"])]
    topology: Vec<Topology>,
    /// Messages per measured ingest series (baseline, REST, gRPC), split across the rounds.
    #[arg(long, global = true, default_value_t = 20000)]
    messages: usize,
    /// Rounds of ingest (the baseline, REST and gRPC in turn) and of execution throughput
    /// (raw cycles, then the platform).
    #[arg(long, global = true, default_value_t = 4)]
    rounds: usize,
    /// Requests in flight during closed-loop ingest.
    #[arg(long, global = true, default_value_t = 32)]
    concurrency: usize,
    /// Size of each ingest message body in bytes.
    #[arg(long, global = true, default_value_t = 100)]
    message_bytes: usize,
    /// Offered rate of the open-loop ingest series, messages/s.
    #[arg(long, global = true, default_value_t = 1000.0)]
    rate: f64,
    /// Duration of the open-loop series, seconds.
    #[arg(long, global = true, default_value_t = 5.0)]
    rate_secs: f64,
    /// Sequential runs for execution latency (each alternated with a raw cycle).
    #[arg(long, global = true, default_value_t = 20)]
    exec_runs: usize,
    /// Sequential messages to the hot actor (a fresh run and a raw cycle every tenth).
    #[arg(long, global = true, default_value_t = 200)]
    hot_runs: usize,
    /// Workers (and concurrent raw cycles) for execution throughput.
    #[arg(long, global = true, default_value_t = 2)]
    workers: usize,
    /// Messages for execution throughput, split across the rounds.
    #[arg(long, global = true, default_value_t = 40)]
    exec_messages: usize,
    /// Repetitions of each cold-start measurement.
    #[arg(long, global = true, default_value_t = 5)]
    cold_runs: usize,
    /// Actors registered for the `abaco up` memory figure.
    #[arg(long, global = true, default_value_t = 100)]
    actors: usize,
    /// Executions written for the search measurement.
    #[arg(long, global = true, default_value_t = 100_000)]
    search_records: usize,
    /// Repetitions of each search.
    #[arg(long, global = true, default_value_t = 5)]
    search_runs: usize,
    /// Executions of the one actor of the paging measurement.
    #[arg(long, global = true, default_value_t = 1_000_000)]
    paging_records: usize,
    /// Repetitions of each page read.
    #[arg(long, global = true, default_value_t = 20)]
    paging_runs: usize,
    /// Give up after this many seconds in all.
    #[arg(long, global = true, default_value_t = 900)]
    timeout_secs: u64,
}

/// What every measurement needs.
#[derive(Debug, Clone)]
pub struct Settings {
    env: Environment,
    messages: usize,
    rounds: usize,
    concurrency: usize,
    message_bytes: usize,
    rate: f64,
    rate_secs: f64,
    exec_runs: usize,
    hot_runs: usize,
    workers: usize,
    exec_messages: usize,
    cold_runs: usize,
    actors: usize,
    search_records: usize,
    search_runs: usize,
    paging_records: usize,
    paging_runs: usize,
}

/// `ABACO_NAME=value`.
fn platform_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if name.starts_with("ABACO_") => {
            Ok((name.to_string(), value.to_string()))
        }
        _ => Err(format!("{text:?} is not ABACO_NAME=value")),
    }
}

impl Options {
    fn settings(&self) -> Result<Settings> {
        let binary = self
            .abaco_bin
            .clone()
            .unwrap_or_else(platform::default_binary);
        if !binary.exists() {
            bail!(
                "{} is missing: build it with `cargo build --release -p abaco-cli` or pass --abaco-bin",
                binary.display()
            );
        }
        Ok(Settings {
            env: Environment {
                binary,
                redis_url: self.redis_url.clone(),
                amqp_url: self.amqp_url.clone(),
                settings: self.platform_setting.clone(),
            },
            messages: self.messages,
            rounds: self.rounds,
            concurrency: self.concurrency,
            message_bytes: self.message_bytes,
            rate: self.rate,
            rate_secs: self.rate_secs,
            exec_runs: self.exec_runs,
            hot_runs: self.hot_runs,
            workers: self.workers.max(1),
            exec_messages: self.exec_messages,
            cold_runs: self.cold_runs,
            actors: self.actors,
            search_records: self.search_records,
            search_runs: self.search_runs,
            paging_records: self.paging_records,
            paging_runs: self.paging_runs,
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let settings = cli.options.settings()?;
    let limit = Duration::from_secs(cli.options.timeout_secs);
    let work = measure(cli.command, &settings, &cli.options.topology);
    // Dropping the measurement (timeout, Ctrl-C) drops its platforms, which cleans them up.
    let rows = tokio::select! {
        rows = tokio::time::timeout(limit, work) => match rows {
            Ok(rows) => rows,
            Err(_) => bail!("gave up after {limit:?}"),
        },
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    };
    println!("{}", report::render(&rows));
    Ok(())
}

/// Runs the chosen measurements; a failed one becomes a row saying so, and the rest go on.
async fn measure(command: Command, settings: &Settings, topologies: &[Topology]) -> Vec<Row> {
    let wants = |c: Command| command == c || command == Command::All;
    let mut rows = Vec::new();
    let mut record = |name: String, result: Result<Vec<Row>>| match result {
        Ok(found) => {
            // Progress for whoever watches a long run; the table comes at the end.
            eprintln!("{}", report::render(&found));
            rows.extend(found);
        }
        Err(error) => {
            eprintln!("{name} failed: {error:#}");
            rows.push(Row::figure(name, format!("FAILED: {error:#}")));
        }
    };
    for topology in topologies {
        if wants(Command::Ingest) {
            let result = ingest::run(settings, *topology).await;
            record(format!("ingest {}", topology.name()), result);
        }
        if wants(Command::Exec) {
            let result = exec::run(settings, *topology).await;
            record(format!("exec {}", topology.name()), result);
        }
        if wants(Command::Hot) {
            let result = hot::run(settings, *topology).await;
            record(format!("hot {}", topology.name()), result);
        }
        if wants(Command::Cold) {
            let result = cold::run(settings, *topology).await;
            record(format!("cold {}", topology.name()), result);
        }
    }
    if wants(Command::Memory) {
        let result = memory::run(settings).await;
        record("memory".to_string(), result);
    }
    if wants(Command::Search) {
        let result = search::run(settings).await;
        record("search".to_string(), result);
    }
    if command == Command::Paging {
        let result = paging::run(settings).await;
        record("paging".to_string(), result);
    }
    rows
}
