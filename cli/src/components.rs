//! What each subcommand runs.

mod spawner;
mod up;

use std::net::SocketAddr;

use abaco::{
    grpc_server::GrpcEndpoint,
    records::child_key,
    settings::{AuthMode, Backend, GatewayMessages, Settings},
    store::Table,
};
use abaco_auth::Authenticator;
use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::backends::{self, Backends};

pub use spawner::spawner;
pub use up::up;

/// The gRPC services that can run as a process of their own.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// `abaco registration`.
    Registration,
    /// `abaco messages`.
    Messages,
    /// `abaco admin`.
    Admin,
}

/// Binds `addr`, with an error that names what wanted it.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{what} cannot listen on {addr}"))
}

/// Refuses the embedded backend for `what` (a component on its own, or a setting that
/// makes one process reach the shared backend).
fn require_distributed(settings: &Settings, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.backend == Backend::Distributed,
        "{what} needs the distributed backend (--backend distributed): the embedded one lives in one process (`abaco up`)"
    );
    Ok(())
}

/// What [`require_distributed`] names for a component run as a process of its own.
const ON_ITS_OWN: &str = "a component on its own";

/// Refuses a distributed component in `jwt` mode without the internal token: without it the
/// components could not tell each other from callers (a caller could claim to be the gateway
/// vouching for an admin, or call spawners and workers directly).
fn require_internal_token(settings: &Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.auth == AuthMode::Header || settings.internal_token.is_some(),
        "auth = jwt on the distributed backend needs internal_token (ABACO_INTERNAL_TOKEN), the same on every component, e.g. from `openssl rand -hex 32`"
    );
    Ok(())
}

/// The authenticator of a component whose user-facing listeners are `listeners`.
fn authenticator(settings: &Settings, listeners: &[SocketAddr]) -> anyhow::Result<Authenticator> {
    Authenticator::new(settings, listeners).context("authentication settings")
}

/// `abaco gateway`.
pub async fn gateway(settings: &Settings, stop: CancellationToken) -> anyhow::Result<()> {
    let auth = authenticator(settings, &[settings.http_addr])?;
    require_internal_token(settings)?;
    let http = bind(settings.http_addr, "the REST gateway").await?;
    let mut services = abaco_gateway::Services::connect(settings)?;
    if settings.gateway_messages == GatewayMessages::InProcess {
        require_distributed(settings, "gateway_messages = in-process")?;
        let backends = Backends::open(settings).await?;
        let messages = backends.messages(settings);
        services.local_messages = Some(abaco_gateway::LocalMessages::new(messages.clone()));
        services.messages = abaco_gateway::transport(messages.into_server(auth.clone()));
    }
    let gateway = abaco_gateway::Gateway::new(settings, services, auth)?;
    tracing::info!(http = %http.local_addr()?, messages = ?settings.gateway_messages, "gateway is up");
    abaco_gateway::serve(http, gateway, stop.cancelled_owned())
        .await
        .context("serving REST")
}

/// `abaco registration`, `abaco messages`, `abaco admin`.
pub async fn service(
    which: Service,
    settings: &Settings,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    require_distributed(settings, ON_ITS_OWN)?;
    require_internal_token(settings)?;
    let auth = authenticator(settings, &[settings.grpc_addr])?;
    let grpc = bind(settings.grpc_addr, "the gRPC service").await?;
    let backends = Backends::open(settings).await?;
    let mut endpoint = GrpcEndpoint::default();
    match which {
        Service::Registration => endpoint
            .add(backends.registration(settings).into_server(auth.clone()))
            .add(backends.sharing().into_server(auth.clone()))
            .add(backends.configs(settings).into_server(auth)),
        Service::Messages => endpoint.add(backends.messages(settings).into_server(auth)),
        Service::Admin => endpoint.add(backends.admin(settings).into_server(auth)),
    };
    tracing::info!(grpc = %grpc.local_addr()?, service = ?which, "service is up");
    Ok(endpoint.serve(grpc, stop.cancelled_owned()).await?)
}

/// `abaco worker`: one worker as a process of its own.
pub async fn worker(
    settings: &Settings,
    actor_id: &str,
    worker_id: &str,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    require_distributed(settings, ON_ITS_OWN)?;
    require_internal_token(settings)?;
    // A worker verifies no token, so it keeps no key that signs them: its runs' tokens come
    // from access_token_secret alone (never from jwt_hs256_secret, were it configured here).
    let mut settings = settings.clone();
    settings.jwt_hs256_secret = None;
    for tenant in settings.tenants.values_mut() {
        tenant.jwt_hs256_secret = None;
    }
    let settings = &settings;
    let backends = Backends::open_for_worker(settings).await?;
    relay_metrics(&backends, settings, actor_id, worker_id).await;
    let host = backends.worker_host(settings, backends::docker().await?)?;
    host.run(actor_id, worker_id, stop)
        .await
        .with_context(|| format!("worker {worker_id} of actor {actor_id}"))
}

/// Sends what this worker process measures to its spawner, which serves it with its own
/// metrics. Without a spawner to find (gone already), the worker runs unmeasured.
async fn relay_metrics(backends: &Backends, settings: &Settings, actor_id: &str, worker_id: &str) {
    let records = &backends.records;
    let worker: Option<abaco::pb::Worker> = records
        .get(Table::Workers, &child_key(actor_id, worker_id))
        .await
        .ok()
        .flatten();
    let spawner: Option<abaco::pb::SpawnerInfo> = match worker {
        Some(worker) => records
            .get(Table::Spawners, &worker.spawner_id)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(spawner) = spawner else {
        tracing::warn!(
            worker = worker_id,
            "no spawner found; this worker's metrics are not relayed"
        );
        return;
    };
    if let Err(error) =
        abaco_spawner::metrics_relay::install(&spawner.addr, settings.internal_token.clone())
    {
        tracing::warn!(%error, "this worker's metrics are not relayed");
    }
}

/// `abaco health`: the health checks of the platform, with orphan removal on this host's
/// Docker engine when it is reachable, the delivery of events, and cron.
pub async fn health(settings: &Settings, stop: CancellationToken) -> anyhow::Result<()> {
    require_distributed(settings, ON_ITS_OWN)?;
    require_internal_token(settings)?;
    let backends = Backends::open(settings).await?;
    let docker = match backends::docker().await {
        Ok(docker) => Some(docker),
        Err(error) => {
            tracing::warn!("{error:#}; orphaned containers will not be removed from here");
            None
        }
    };
    let deliverer = backends.deliverer(settings)?;
    tracing::info!("health checks, event delivery and cron are running");
    tokio::join!(
        backends.health(settings, docker).run(stop.clone()),
        deliverer.run(stop.clone()),
        backends.scheduler(settings).run(stop),
    );
    Ok(())
}
