//! The store, mailboxes and fleet this process uses, and the services built over them.

use std::{sync::Arc, time::Duration};

use abaco::{
    fleet::Fleet,
    mailbox::Mailboxes,
    records::Records,
    settings::{AuthMode, Settings},
};
use abaco_admin::AdminService;
use abaco_auth::{Access, AccessTokenMinter, RolePolicy, access_secret};
use abaco_health::{HealthChecker, HealthSettings};
use abaco_messages::MessagesService;
use abaco_registration::{AccessService, Limits, RegistrationService};
use abaco_spawner::SpawnerFleet;
use abaco_worker::{HostSettings, WorkerHost, WorkerSettings, container::DockerRunner};
use anyhow::Context;

/// Opened backends, shared by every component of the process.
#[derive(Debug, Clone)]
pub struct Backends {
    pub records: Records,
    pub mailboxes: Arc<dyn Mailboxes>,
    pub fleet: Arc<dyn Fleet>,
    /// The installation's id, on every container it starts.
    pub instance: String,
    /// Who may do what, over the records.
    pub access: Access,
}

impl Backends {
    /// Opens the store and the mailboxes the settings name.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let store = abaco_store::open(settings)
            .await
            .context("opening the store")?;
        let mailboxes = abaco_mailbox::open(settings)
            .await
            .context("opening the mailboxes")?;
        let records = Records::new(store);
        let instance = records
            .instance_id()
            .await
            .context("reading the platform's instance id")?;
        Ok(Self {
            instance,
            fleet: Arc::new(SpawnerFleet::new(
                records.clone(),
                settings.internal_token.clone(),
            )),
            access: Access::new(records.clone(), RolePolicy::from_settings(settings)),
            records,
            mailboxes,
        })
    }

    /// The registration service.
    pub fn registration(&self) -> RegistrationService {
        RegistrationService::new(
            self.access.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            Limits::default(),
        )
    }

    /// The access service (permissions, aliases, nonces), served beside registration.
    pub fn sharing(&self) -> AccessService {
        AccessService::new(self.access.clone())
    }

    /// The messages service.
    pub fn messages(&self) -> MessagesService {
        MessagesService::new(
            self.access.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
        )
    }

    /// The admin service.
    pub fn admin(&self) -> AdminService {
        AdminService::new(self.access.clone(), self.fleet.clone())
    }

    /// What workers on this host run with.
    pub fn worker_host(
        &self,
        settings: &Settings,
        runner: DockerRunner,
    ) -> anyhow::Result<WorkerHost> {
        let runner = match &settings.work_dir {
            Some(dir) => runner.with_work_dir(dir),
            None => runner,
        };
        Ok(WorkerHost {
            records: self.records.clone(),
            mailboxes: self.mailboxes.clone(),
            runner,
            settings: WorkerSettings {
                namespace: settings.namespace.clone(),
                instance: self.instance.clone(),
                api_server: format!("http://{}", settings.http_addr),
                default_max_run_time: (settings.default_max_run_time_secs > 0)
                    .then(|| Duration::from_secs(settings.default_max_run_time_secs)),
                access_tokens: access_token_minter(settings)?,
                default_tenant: settings.default_tenant.to_ascii_lowercase(),
                ..WorkerSettings::default()
            },
            host: HostSettings {
                advertise_host: settings.advertise_host.clone(),
                internal_token: settings.internal_token.clone(),
                ..HostSettings::default()
            },
        })
    }

    /// The health checks, with orphan removal when Docker is given.
    pub fn health(&self, settings: &Settings, docker: Option<DockerRunner>) -> HealthChecker {
        HealthChecker::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            docker,
            settings.namespace.clone(),
            self.instance.clone(),
            HealthSettings {
                idle_timeout: Duration::from_secs(settings.worker_idle_timeout_secs),
                worker_timeout: Duration::from_secs(settings.worker_timeout_secs),
                spawner_timeout: Duration::from_secs(settings.worker_timeout_secs),
                ..HealthSettings::default()
            },
        )
    }
}

/// What signs the `_abaco_access_token` of runs: only in `jwt` mode, where the gateway accepts
/// it, and only when a secret is set.
fn access_token_minter(settings: &Settings) -> anyhow::Result<Option<AccessTokenMinter>> {
    if settings.auth != AuthMode::Jwt {
        return Ok(None);
    }
    access_secret(settings)
        .map(|secret| {
            AccessTokenMinter::new(secret, Duration::from_secs(settings.access_token_ttl_secs))
        })
        .transpose()
        .context("access tokens for runs")
}

/// The local Docker engine, or an error that says what to do.
pub async fn docker() -> anyhow::Result<DockerRunner> {
    DockerRunner::connect()
        .await
        .context("Docker is not reachable: abaco runs actors on the local Docker engine (is dockerd running, and is /var/run/docker.sock readable?)")
}
