//! `abaco`: every component of the platform as a subcommand, and `up` to run the whole
//! platform in one process on the embedded backends.

mod backends;
mod components;
mod config;
mod shutdown;
mod telemetry;

use clap::{Parser, Subcommand};

// Request handling allocates small, short-lived buffers on several threads; mimalloc serves
// them for less CPU than glibc's allocator (ingest about 10 % faster, BENCHMARKS.md). Built
// with `no_thp`: with transparent huge pages its eagerly committed arenas doubled the
// resident memory of every process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// abaco: actor-based containers, functions as a service for research computing.
#[derive(Debug, Parser)]
#[command(name = "abaco", version, about)]
struct Cli {
    #[command(flatten)]
    overrides: config::Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The whole platform in one process (embedded backends unless --backend distributed).
    Up,
    /// The REST gateway alone, in front of the gRPC services named in the settings.
    Gateway,
    /// The registration service alone.
    Registration,
    /// The messages service alone.
    Messages,
    /// The admin service alone.
    Admin,
    /// The spawner of this host: starts workers as processes when asked.
    Spawner,
    /// One worker; spawners start these.
    Worker {
        /// The actor whose mailbox it serves.
        #[arg(long)]
        actor_id: String,
        /// Its own id, as the spawner recorded it.
        #[arg(long)]
        worker_id: String,
    },
    /// The health checks.
    Health,
}

impl Command {
    /// The component this process runs, as traces name it (`abaco-<component>`).
    fn component(&self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Gateway => "gateway",
            Self::Registration => "registration",
            Self::Messages => "messages",
            Self::Admin => "admin",
            Self::Spawner => "spawner",
            Self::Worker { .. } => "worker",
            Self::Health => "health",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    runtime_for(&cli.command)?.block_on(run(cli))
}

/// A worker serves one container at a time, and a host runs many of them: one thread keeps
/// each worker small. The services share the machine's cores.
fn runtime_for(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match command {
        Command::Worker { .. } => {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            builder.max_blocking_threads(2);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = config::load(&cli.overrides)?;
    // Held to the end of `main`: dropping it flushes the last spans.
    let _telemetry = telemetry::init(&settings, cli.command.component())?;
    let stop = shutdown::on_signals();
    match cli.command {
        Command::Up => components::up(settings, stop).await,
        Command::Gateway => components::gateway(&settings, stop).await,
        Command::Registration => {
            components::service(components::Service::Registration, &settings, stop).await
        }
        Command::Messages => {
            components::service(components::Service::Messages, &settings, stop).await
        }
        Command::Admin => components::service(components::Service::Admin, &settings, stop).await,
        Command::Spawner => components::spawner(&settings, stop).await,
        Command::Worker {
            actor_id,
            worker_id,
        } => components::worker(&settings, &actor_id, &worker_id, stop).await,
        Command::Health => components::health(&settings, stop).await,
    }
}
