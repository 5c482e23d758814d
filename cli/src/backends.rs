//! The store, mailboxes and fleet this process uses, and the services built over them.

use std::{sync::Arc, time::Duration};

use abaco::{fleet::Fleet, mailbox::Mailboxes, records::Records, settings::Settings};
use abaco_admin::AdminService;
use abaco_health::{HealthChecker, HealthSettings};
use abaco_messages::MessagesService;
use abaco_registration::{Limits, RegistrationService};
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
            fleet: Arc::new(SpawnerFleet::new(records.clone())),
            records,
            mailboxes,
        })
    }

    /// The registration service.
    pub fn registration(&self, settings: &Settings) -> RegistrationService {
        let limits = Limits {
            admins: settings.admins.clone(),
            ..Limits::default()
        };
        RegistrationService::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            limits,
        )
    }

    /// The messages service.
    pub fn messages(&self, settings: &Settings) -> MessagesService {
        MessagesService::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            settings.admins.clone(),
        )
    }

    /// The admin service.
    pub fn admin(&self, settings: &Settings) -> AdminService {
        AdminService::new(
            self.records.clone(),
            self.fleet.clone(),
            settings.admins.clone(),
        )
    }

    /// What workers on this host run with.
    pub fn worker_host(&self, settings: &Settings, runner: DockerRunner) -> WorkerHost {
        let runner = match &settings.work_dir {
            Some(dir) => runner.with_work_dir(dir),
            None => runner,
        };
        WorkerHost {
            records: self.records.clone(),
            mailboxes: self.mailboxes.clone(),
            runner,
            settings: WorkerSettings {
                namespace: settings.namespace.clone(),
                instance: self.instance.clone(),
                api_server: format!("http://{}", settings.http_addr),
                default_max_run_time: (settings.default_max_run_time_secs > 0)
                    .then(|| Duration::from_secs(settings.default_max_run_time_secs)),
                ..WorkerSettings::default()
            },
            host: HostSettings {
                advertise_host: settings.advertise_host.clone(),
                ..HostSettings::default()
            },
        }
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

/// The local Docker engine, or an error that says what to do.
pub async fn docker() -> anyhow::Result<DockerRunner> {
    DockerRunner::connect()
        .await
        .context("Docker is not reachable: abaco runs actors on the local Docker engine (is dockerd running, and is /var/run/docker.sock readable?)")
}
