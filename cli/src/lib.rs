//! The parts of the abaco programs: `abaco` (every component as a subcommand, and `up` for the
//! whole platform in one process) and `abaco-worker` (one worker, as spawners start them).

pub mod backends;
pub mod components;
pub mod config;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
pub mod token;
pub mod user;

// Request handling allocates small, short-lived buffers on several threads; mimalloc serves
// them for less CPU than glibc's allocator (ingest about 10 % faster, BENCHMARKS.md). Built
// with `no_thp`: with transparent huge pages its eagerly committed arenas doubled the
// resident memory of every process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Which worker a worker process is.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// The actor whose mailbox it serves.
    #[arg(long)]
    pub actor_id: String,
    /// Its own id, as the spawner recorded it.
    #[arg(long)]
    pub worker_id: String,
}

/// Runs one worker process to its end: `abaco worker` and `abaco-worker` alike.
pub fn run_worker(overrides: &config::Overrides, worker: &WorkerArgs) -> anyhow::Result<()> {
    // A worker serves one container at a time, and a host runs many of them: one thread
    // keeps each worker small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let settings = config::load(overrides)?;
        // Held to the end: dropping it flushes the last spans.
        let _telemetry = telemetry::init(&settings, "worker")?;
        let stop = shutdown::on_signals();
        components::worker(&settings, &worker.actor_id, &worker.worker_id, stop).await
    })
}
