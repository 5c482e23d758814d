//! `abaco-worker`: one worker, as a spawner starts it. The same worker as `abaco worker`, in
//! a program that holds nothing else, so each of the many workers on a host maps less code.

use abaco_cli::{WorkerArgs, config};
use clap::Parser;

/// One abaco worker: serves an actor's mailbox, one container at a time.
#[derive(Debug, Parser)]
#[command(name = "abaco-worker", version, about)]
struct Cli {
    #[command(flatten)]
    overrides: config::Overrides,
    #[command(flatten)]
    worker: WorkerArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    abaco_cli::run_worker(&cli.overrides, &cli.worker)
}
