//! `abaco spawner`: this host's spawner, starting workers as processes of their own.

use std::{path::Path, sync::Arc, time::Duration};

use abaco::{
    grpc_server::GrpcEndpoint,
    ids, pb,
    settings::{AuthMode, Settings},
};
use abaco_spawner::{Launcher, ProcessLauncher, Registration, SpawnerService, WorkerProgram};
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{ON_ITS_OWN, bind, require_distributed, require_internal_token};
use crate::backends::{self, Backends};

/// The environment a worker process needs to find what its spawner found. Workers inherit the
/// spawner's environment; what came from its command line (flags, a `--config` file) is
/// handed on here.
fn worker_env(settings: &Settings, config_file: Option<&Path>) -> Vec<(String, String)> {
    let mut env = vec![
        ("ABACO_BACKEND".to_string(), "distributed".to_string()),
        ("ABACO_REDIS_URL".to_string(), settings.redis_url.clone()),
        ("ABACO_AMQP_URL".to_string(), settings.amqp_url.clone()),
        ("ABACO_NAMESPACE".to_string(), settings.namespace.clone()),
        (
            "ABACO_HTTP_ADDR".to_string(),
            settings.http_addr.to_string(),
        ),
        (
            "ABACO_ADVERTISE_HOST".to_string(),
            settings.advertise_host.clone(),
        ),
        // Workers' control endpoints listen on the spawner's interface: whoever reaches the
        // spawner at `advertise_host` reaches its workers there too.
        (
            "ABACO_GRPC_ADDR".to_string(),
            settings.grpc_addr.to_string(),
        ),
    ];
    if let Some(dir) = &settings.work_dir {
        env.push(("ABACO_WORK_DIR".to_string(), dir.display().to_string()));
    }
    if let Some(file) = config_file {
        env.push(("ABACO_CONFIG".to_string(), file.display().to_string()));
    }
    // What workers need to be reached by the platform alone and to sign their runs' access
    // tokens. Child processes only: these never reach a container.
    env.push((
        "ABACO_AUTH".to_string(),
        auth_name(settings.auth).to_string(),
    ));
    env.push((
        "ABACO_DEFAULT_TENANT".to_string(),
        settings.default_tenant.clone(),
    ));
    env.push((
        "ABACO_ACCESS_TOKEN_TTL_SECS".to_string(),
        settings.access_token_ttl_secs.to_string(),
    ));
    if let Some(token) = &settings.internal_token {
        env.push((
            "ABACO_INTERNAL_TOKEN".to_string(),
            token.expose().to_string(),
        ));
    }
    // Only a secret of its own: a worker never holds the key that signs users' tokens.
    if let Some(secret) = &settings.access_token_secret {
        env.push((
            "ABACO_ACCESS_TOKEN_SECRET".to_string(),
            secret.expose().to_string(),
        ));
    }
    // Workers export their execution spans where the spawner exports its own.
    if let Some(endpoint) = &settings.otlp_endpoint {
        env.push(("ABACO_OTLP_ENDPOINT".to_string(), endpoint.clone()));
    }
    env
}

/// Whether `host` (an address or a name) can only mean this machine.
fn names_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn auth_name(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::Header => "header",
        AuthMode::Jwt => "jwt",
    }
}

/// The spawner's entry: its id, host and the address others reach it at.
pub fn spawner_info(settings: &Settings, port: u16) -> pb::SpawnerInfo {
    let host_id = std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| settings.advertise_host.clone());
    pb::SpawnerInfo {
        id: ids::new_id(),
        host_id,
        addr: format!("{}:{port}", settings.advertise_host),
        capacity: settings.spawner_capacity,
        queues: settings.spawner_queues.clone(),
        ..Default::default()
    }
}

/// Writes the spawner's entry, then keeps its heartbeat (with `launcher`'s count of running
/// workers) until `stop`. The first write happens before this returns, so a spawner is
/// announced before it serves and whoever sees its port open can place workers on it.
pub async fn announce(
    backends: &Backends,
    settings: &Settings,
    info: &pb::SpawnerInfo,
    launcher: Arc<dyn Launcher>,
    stop: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut registration = Registration::new(backends.records.clone(), info.clone());
    registration.beat(launcher.running()).await?;
    Ok(tokio::spawn(registration.keep_alive(
        Duration::from_secs(settings.heartbeat_secs.max(1)),
        move || launcher.running(),
        stop.clone(),
    )))
}

/// Runs the spawner until `stop`; its workers read `config_file` too.
pub async fn spawner(
    settings: &Settings,
    config_file: Option<&Path>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    require_distributed(settings, ON_ITS_OWN)?;
    require_internal_token(settings)?;
    // Without a token the spawner answers whoever reaches it: only callers on this machine.
    anyhow::ensure!(
        settings.internal_token.is_some() || settings.grpc_addr.ip().is_loopback(),
        "the spawner starts and stops workers for whoever reaches {}: set internal_token (ABACO_INTERNAL_TOKEN) on every component, or bind it to loopback",
        settings.grpc_addr
    );
    anyhow::ensure!(
        !settings.grpc_addr.ip().is_loopback() || names_loopback(&settings.advertise_host),
        "the spawner and its workers would listen on {} but be announced as {}: other hosts could not reach them; bind grpc_addr (ABACO_GRPC_ADDR) to an address they can reach, or advertise loopback",
        settings.grpc_addr,
        settings.advertise_host
    );
    let backends = Backends::open(settings).await?;
    // Workers need Docker; finding out now beats every worker failing later.
    backends::docker().await?;
    let binary = std::env::current_exe().context("locating the abaco binary for workers")?;
    let program = WorkerProgram::beside(binary);
    tracing::info!(program = %program.path.display(), "workers run as child processes");
    let launcher = Arc::new(ProcessLauncher::new(
        backends.records.clone(),
        program,
        worker_env(settings, config_file),
    ));
    let grpc = bind(settings.grpc_addr, "the spawner").await?;
    let info = spawner_info(settings, grpc.local_addr()?.port());
    announce(&backends, settings, &info, launcher.clone(), &stop).await?;
    let mut endpoint = GrpcEndpoint::default();
    endpoint.add(
        SpawnerService::new(
            backends.records.clone(),
            launcher,
            info.clone(),
            settings.internal_token.clone(),
        )
        .with_image_pull(settings.image_pull)
        .with_call_timeout(Duration::from_secs(settings.control_call_timeout_secs))
        .into_server(),
    );
    tracing::info!(spawner = %info.id, addr = %info.addr, "spawner is up");
    Ok(endpoint.serve(grpc, stop.cancelled_owned()).await?)
}

#[cfg(test)]
mod tests {
    use super::names_loopback;

    #[test]
    fn loopback_names_are_told_from_reachable_ones() {
        for host in ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"] {
            assert!(names_loopback(host), "{host}");
        }
        for host in ["spawner", "10.0.0.5", "0.0.0.0", "host.example"] {
            assert!(!names_loopback(host), "{host}");
        }
    }
}
