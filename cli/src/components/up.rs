//! `abaco up`: the whole platform in one process.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use abaco::{
    grpc_server::GrpcEndpoint,
    pb,
    settings::{Backend, Settings},
    store::Table,
};
use abaco_gateway::{Services, transport};
use abaco_spawner::{SpawnerService, TaskLauncher};
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{
    bind,
    spawner::{announce, spawner_info},
};
use crate::backends::{self, Backends};

/// Runs gateway, services, spawner (workers as tasks) and health checks until `stop`.
pub async fn up(mut settings: Settings, stop: CancellationToken) -> anyhow::Result<()> {
    // The components of this process prove themselves to each other with this token, so that
    // the loopback control endpoints (spawner, workers) answer nobody else.
    if settings.internal_token.is_none() {
        settings.internal_token = Some(abaco_auth::random_internal_token());
    }
    if settings.configs_key.is_none() && settings.backend == Backend::Embedded {
        settings.configs_key = Some(configs_key_file(&settings)?);
    }
    let auth = abaco_auth::Authenticator::new(&settings, &[settings.http_addr, settings.grpc_addr])
        .context("authentication settings")?;
    let http = bind(settings.http_addr, "the REST gateway").await?;
    let grpc = bind(settings.grpc_addr, "the gRPC services").await?;
    // Control stays off the user-facing port, on loopback only.
    let control = bind(SocketAddr::from(([127, 0, 0, 1], 0)), "the spawner").await?;
    let docker = backends::docker().await?;
    let backends = Backends::open(&settings).await?;
    if settings.backend == Backend::Embedded {
        forget_previous_run(&backends).await?;
    }

    let workers_stop = CancellationToken::new();
    let launcher = Arc::new(TaskLauncher::new(
        backends.worker_host(&settings, docker.clone())?,
        workers_stop.clone(),
    ));
    let mut info = spawner_info(&settings, control.local_addr()?.port());
    info.addr = control.local_addr()?.to_string();
    let heartbeat = announce(&backends, &settings, &info, launcher.clone(), &stop).await?;

    let registration = backends.registration(&settings).into_server(auth.clone());
    let sharing = backends.sharing().into_server(auth.clone());
    let configs = backends.configs(&settings).into_server(auth.clone());
    let messages_service = backends.messages(&settings);
    let local_messages = abaco_gateway::LocalMessages::new(messages_service.clone());
    let messages = messages_service.into_server(auth.clone());
    let admin = backends.admin(&settings).into_server(auth.clone());
    // The gateway calls the very services the gRPC port serves, in this process: no
    // loopback round trip per request (REST ingest, BENCHMARKS.md).
    let gateway = abaco_gateway::Gateway::new(
        &settings,
        Services {
            registration: transport(registration.clone()),
            messages: transport(messages.clone()),
            admin: transport(admin.clone()),
            access: transport(sharing.clone()),
            configs: transport(configs.clone()),
            local_messages: Some(local_messages),
        },
        auth,
    )?;
    let mut endpoint = GrpcEndpoint::default();
    endpoint
        .add(registration)
        .add(sharing)
        .add(configs)
        .add(messages)
        .add(admin);
    let mut control_endpoint = GrpcEndpoint::default();
    control_endpoint.add(
        SpawnerService::new(
            backends.records.clone(),
            launcher.clone(),
            info,
            settings.internal_token.clone(),
        )
        .with_image_pull(settings.image_pull)
        .with_call_timeout(Duration::from_secs(settings.control_call_timeout_secs))
        .into_server(),
    );
    let control_served =
        tokio::spawn(control_endpoint.serve(control, stop.clone().cancelled_owned()));
    let health = tokio::spawn(backends.health(&settings, Some(docker)).run(stop.clone()));
    let events = tokio::spawn(backends.deliverer(&settings)?.run(stop.clone()));
    let cron = tokio::spawn(backends.scheduler(&settings).run(stop.clone()));
    tracing::info!(
        http = %http.local_addr()?,
        grpc = %grpc.local_addr()?,
        backend = ?settings.backend,
        "abaco is up"
    );
    let (grpc_done, http_done) = tokio::join!(
        endpoint.serve(grpc, stop.clone().cancelled_owned()),
        abaco_gateway::serve(http, gateway, stop.clone().cancelled_owned()),
    );
    workers_stop.cancel();
    let drain = Duration::from_secs(settings.shutdown_drain_secs);
    let drained = tokio::time::timeout(drain, async {
        while abaco_spawner::Launcher::running(launcher.as_ref()) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("workers still running at exit; their messages return to the mailbox");
    }
    let _ = heartbeat.await;
    let _ = health.await;
    let _ = events.await;
    let _ = cron.await;
    let _ = control_served.await;
    grpc_done?;
    http_done.context("serving REST")?;
    Ok(())
}

/// The key of secret configs kept beside the embedded store, made on first use: readable by
/// this user only, and never in the store itself.
fn configs_key_file(settings: &Settings) -> anyhow::Result<abaco::secret::Secret> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let path = settings.data_dir.join("configs.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(abaco::secret::Secret::new(text.trim()));
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let key = abaco_auth::random_internal_token();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(key.expose().as_bytes())?;
    Ok(key)
}

/// The embedded store is this process's alone, so every worker and spawner it lists belonged
/// to a previous run of it and is gone: forget them, so that health checks start the
/// replacements and remove their containers at once.
async fn forget_previous_run(backends: &Backends) -> anyhow::Result<()> {
    let workers: Vec<pb::Worker> = backends.records.list(Table::Workers, "").await?;
    for worker in &workers {
        backends
            .records
            .delete(
                Table::Workers,
                &abaco::records::child_key(&worker.actor_id, &worker.id),
            )
            .await?;
    }
    let spawners: Vec<pb::SpawnerInfo> = backends.records.list(Table::Spawners, "").await?;
    for spawner in &spawners {
        backends
            .records
            .delete(Table::Spawners, &spawner.id)
            .await?;
    }
    if !workers.is_empty() {
        tracing::info!(
            workers = workers.len(),
            "forgot the workers of the previous run"
        );
    }
    Ok(())
}
