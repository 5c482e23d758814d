//! `abaco`: every component of the platform as a subcommand, and `up` to run the whole
//! platform in one process on the embedded backends.

mod backends;
mod config;

mod shutdown;
mod telemetry;

use abaco::settings::{Backend, Settings};
use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use abaco::grpc_server::GrpcEndpoint;

use crate::{backends::Backends, shutdown::Shutdown};

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
    /// A spawner for this host.
    Spawner,
    /// One worker.
    Worker,
    /// The health checks.
    Health,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = config::load(&cli.overrides)?;
    telemetry::init(&settings)?;
    let shutdown = Shutdown::on_signals();
    match cli.command {
        Command::Up => up(settings, shutdown).await,
        Command::Gateway => gateway(&settings, shutdown).await,
        Command::Registration | Command::Messages | Command::Admin => {
            service(&cli.command, &settings, shutdown).await
        }
        Command::Spawner | Command::Worker | Command::Health => anyhow::bail!(
            "`abaco {}` is not part of this build yet: messages are queued until workers exist",
            format!("{:?}", cli.command).to_lowercase()
        ),
    }
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{what} cannot listen on {addr}"))
}

async fn up(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let http = bind(settings.http_addr, "the REST gateway").await?;
    let grpc = bind(settings.grpc_addr, "the gRPC services").await?;
    let backends = Backends::open(&settings).await?;
    let mut endpoint = GrpcEndpoint::default();
    endpoint
        .add(backends.registration(&settings).into_server())
        .add(backends.messages(&settings).into_server())
        .add(backends.admin(&settings).into_server());
    let gateway = abaco_gateway::Gateway::connect(&settings)?;
    tracing::info!(
        http = %http.local_addr()?,
        grpc = %grpc.local_addr()?,
        backend = ?settings.backend,
        "abaco is up"
    );
    let (grpc_done, http_done) = tokio::join!(
        endpoint.serve(grpc, shutdown.wait()),
        abaco_gateway::serve(http, gateway, shutdown.wait()),
    );
    grpc_done?;
    http_done.context("serving REST")?;
    Ok(())
}

async fn gateway(settings: &Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let http = bind(settings.http_addr, "the REST gateway").await?;
    let gateway = abaco_gateway::Gateway::connect(settings)?;
    tracing::info!(http = %http.local_addr()?, "gateway is up");
    abaco_gateway::serve(http, gateway, shutdown.wait())
        .await
        .context("serving REST")
}

async fn service(command: &Command, settings: &Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.backend == Backend::Distributed,
        "a component on its own needs the distributed backend (--backend distributed): the embedded one lives in one process"
    );
    let grpc = bind(settings.grpc_addr, "the gRPC service").await?;
    let backends = Backends::open(settings).await?;
    let mut endpoint = GrpcEndpoint::default();
    match command {
        Command::Registration => endpoint.add(backends.registration(settings).into_server()),
        Command::Messages => endpoint.add(backends.messages(settings).into_server()),
        _ => endpoint.add(backends.admin(settings).into_server()),
    };
    tracing::info!(grpc = %grpc.local_addr()?, component = ?command, "service is up");
    Ok(endpoint.serve(grpc, shutdown.wait()).await?)
}
