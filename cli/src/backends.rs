//! The store, mailboxes and fleet this process uses, and the services built over them.

use std::{collections::HashMap, sync::Arc, time::Duration};

use abaco::{
    fleet::Fleet,
    mailbox::Mailboxes,
    records::Records,
    settings::{AuthMode, Backend, MountSettings, RunNetwork, Settings, StoreDurability},
    store::Store,
};
use abaco_admin::{AdminService, Pages};
use abaco_auth::{Access, AccessTokenMinter, RolePolicy, Throttle, access_secret};
use abaco_configs::ConfigKey;
use abaco_cron::Scheduler;
use abaco_events::{Deliverer, DeliverySettings, Emitter};
use abaco_health::{HealthChecker, HealthSettings};
use abaco_intake::Intake;
use abaco_messages::MessagesService;
use abaco_registration::{AccessService, ConfigsService, Limits, RegistrationService};
use abaco_spawner::{FleetTimings, SpawnerFleet};
use abaco_worker::{
    HostSettings, Persist, TenantMounts, WorkerHost, WorkerSettings,
    container::{DockerRunner, RegistryAuth, Sandbox},
};
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
    /// Where events are emitted.
    pub events: Emitter,
}

/// `open` again, with backoff, until it succeeds or `startup_timeout_secs` have passed: a
/// component started beside Redis and RabbitMQ (compose, systemd) waits for them instead of
/// exiting and being restarted in a loop.
async fn until_startup_timeout<T, E, F, Fut>(
    settings: &Settings,
    what: &str,
    open: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    use backon::Retryable;
    let policy = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_total_delay(Some(Duration::from_secs(settings.startup_timeout_secs)))
        .without_max_times();
    open.retry(policy)
        .notify(|error, pause| {
            tracing::warn!(%error, ?pause, "{what} not reachable yet; trying again");
        })
        .await
}

impl Backends {
    /// Opens the store and the mailboxes the settings name.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let backends = Self::open_for_worker(settings).await?;
        backends.check_durability(settings).await?;
        Ok(backends)
    }

    /// Says (or, with `store_durability = require`, refuses) when the store could lose
    /// accepted messages. Workers skip it: their components have said it once per host.
    async fn check_durability(&self, settings: &Settings) -> anyhow::Result<()> {
        let risk = self
            .records
            .durability_risk()
            .await
            .context("reading the store's persistence settings")?;
        let Some(risk) = risk else {
            return Ok(());
        };
        const FIX: &str = "redis-cli CONFIG SET appendonly yes; redis-cli CONFIG SET appendfsync always (and the same in redis.conf)";
        match settings.store_durability {
            StoreDurability::Warn => {
                tracing::warn!(%risk, fix = FIX, "accepted messages could be lost");
                Ok(())
            }
            StoreDurability::Require => anyhow::bail!(
                "store_durability = require, but {risk}; run: {FIX}, or set store_durability = warn"
            ),
        }
    }

    /// The backends, as a worker process opens them.
    pub async fn open_for_worker(settings: &Settings) -> anyhow::Result<Self> {
        let (store, mailboxes) = match settings.backend {
            // One file: the mailboxes live beside the store's tables and share its commits.
            Backend::Embedded => {
                let store = until_startup_timeout(settings, "the store", || {
                    abaco_store::open_embedded(settings)
                })
                .await
                .context("opening the store")?;
                let mailboxes = abaco_mailbox::open_embedded(settings, &store)
                    .await
                    .context("opening the mailboxes")?;
                (Arc::new(store) as Arc<dyn Store>, mailboxes)
            }
            Backend::Distributed => {
                let store =
                    until_startup_timeout(settings, "the store", || abaco_store::open(settings))
                        .await
                        .context("opening the store")?;
                let mailboxes = until_startup_timeout(settings, "the mailboxes", || {
                    abaco_mailbox::open_distributed(settings)
                })
                .await
                .context("opening the mailboxes")?;
                (store, mailboxes)
            }
        };
        let records = Records::new(store);
        let instance = records
            .instance_id()
            .await
            .context("reading the platform's instance id")?;
        let events = Emitter::new(
            mailboxes.clone(),
            settings.default_tenant.to_ascii_lowercase(),
        );
        Ok(Self {
            instance,
            fleet: Arc::new(
                SpawnerFleet::new(records.clone(), settings.internal_token.clone())
                    .with_events(events.clone())
                    .with_liveness_timeout(Duration::from_secs(settings.worker_timeout_secs))
                    .with_timings(FleetTimings {
                        spawn_lease: Duration::from_secs(settings.spawn_lease_secs.max(1)),
                        lease_wait: Duration::from_secs(settings.spawn_lease_wait_secs),
                        stop_wait: Duration::from_secs(settings.actor_stop_wait_secs),
                        call_timeout: Duration::from_secs(settings.control_call_timeout_secs),
                        staffed_for: Duration::from_millis(settings.staffed_for_ms),
                    }),
            ),
            events,
            access: Access::new(
                records.clone(),
                RolePolicy::from_settings(settings),
                Throttle::from_settings(settings),
            ),
            records,
            mailboxes,
        })
    }

    /// The registration service.
    pub fn registration(&self, settings: &Settings) -> RegistrationService {
        RegistrationService::new(
            self.access.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
            Limits {
                search_max_limit: settings.search_max_limit.max(1),
                max_retries: settings.max_retries,
                list_page_max: settings.list_page_max.max(1),
                list_page_size: settings
                    .list_page_size
                    .clamp(1, settings.list_page_max.max(1)),
                ..Limits::default()
            },
        )
        .with_follow_poll(Duration::from_millis(settings.follow_poll_ms))
    }

    /// The access service (permissions, aliases, nonces), served beside registration.
    pub fn sharing(&self) -> AccessService {
        AccessService::new(self.access.clone())
    }

    /// The configs service (actor configs), served beside registration.
    pub fn configs(&self, settings: &Settings) -> ConfigsService {
        ConfigsService::new(self.access.clone(), configs_key(settings))
    }

    /// The messages service.
    pub fn messages(&self, settings: &Settings) -> MessagesService {
        MessagesService::new(
            self.access.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
        )
        .with_purge_concurrency(settings.purge_concurrency)
    }

    /// The admin service.
    pub fn admin(&self, settings: &Settings) -> AdminService {
        AdminService::new(self.access.clone(), self.fleet.clone()).with_pages(Pages {
            max: settings.list_page_max.max(1),
            size: settings
                .list_page_size
                .clamp(1, settings.list_page_max.max(1)),
        })
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
        let registries = match &settings.registry_auth_file {
            Some(path) => RegistryAuth::from_file(path)?,
            None => RegistryAuth::default(),
        };
        let runner = runner
            .with_sandbox(sandbox(settings))
            .with_registries(registries)
            .with_oom_report_wait(Duration::from_millis(settings.oom_report_wait_ms))
            .with_kill_grace(Duration::from_secs(settings.run_kill_grace_secs))
            .with_stats_retry(Duration::from_millis(settings.run_stats_retry_ms))
            .with_follow_find(Duration::from_secs(settings.follow_find_secs));
        if settings.backend == abaco::settings::Backend::Distributed
            && settings.worker_record_wait_secs <= settings.redis_command_timeout_secs
        {
            // A send may still be writing its record when the wait ends: its message would
            // become a dead letter though the send succeeds.
            tracing::warn!(
                worker_record_wait_secs = settings.worker_record_wait_secs,
                redis_command_timeout_secs = settings.redis_command_timeout_secs,
                "worker_record_wait_secs should be longer than redis_command_timeout_secs"
            );
        }
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
                default_mem_limit: (settings.run_mem_limit > 0).then_some(settings.run_mem_limit),
                default_nano_cpus: nano_cpus(settings.run_cpus),
                run_user: settings.run_user.clone(),
                mounts: tenant_mounts(settings)?,
                configs_key: configs_key(settings),
                liveness_timeout: Duration::from_secs(settings.worker_timeout_secs),
                owner_poll: Duration::from_millis(settings.worker_owner_poll_ms.max(1)),
                store_backoff: Duration::from_millis(settings.worker_store_backoff_ms),
                record_wait: Duration::from_secs(settings.worker_record_wait_secs),
                persist: Persist {
                    attempts: settings.worker_persist_attempts.max(1),
                    first_pause: Duration::from_millis(settings.worker_persist_pause_ms),
                },
                retry_backoff: Duration::from_millis(settings.retry_backoff_ms),
                retry_backoff_max: Duration::from_secs(settings.retry_backoff_max_secs),
                network_holder: settings.run_network_holder,
                ..WorkerSettings::default()
            },
            host: HostSettings {
                control_bind: std::net::SocketAddr::new(settings.grpc_addr.ip(), 0),
                advertise_host: settings.advertise_host.clone(),
                internal_token: settings.internal_token.clone(),
                pull_timeout: Duration::from_secs(settings.image_pull_timeout_secs),
                heartbeat: Duration::from_secs(settings.heartbeat_secs.max(1)),
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
                interval: Duration::from_secs(settings.health_interval_secs.max(1)),
                sweep_interval: Duration::from_secs(settings.health_sweep_secs),
                sweep_batch: settings.sweep_batch.max(1),
                stuck_after: Duration::from_secs(settings.stuck_after_secs),
                retention: (settings.execution_retention_secs > 0)
                    .then(|| Duration::from_secs(settings.execution_retention_secs)),
                orphan_min_age: Duration::from_secs(settings.orphan_min_age_secs),
                ..HealthSettings::default()
            },
        )
        .with_events(self.events.clone())
    }

    /// Accepting messages the platform sends itself (events to links, cron ticks).
    fn intake(&self) -> Intake {
        Intake::new(
            self.records.clone(),
            self.mailboxes.clone(),
            self.fleet.clone(),
        )
    }

    /// The cron scheduler.
    pub fn scheduler(&self, settings: &Settings) -> Scheduler {
        Scheduler::new(
            self.records.clone(),
            self.intake(),
            Duration::from_secs(settings.cron_check_secs.max(1)),
        )
    }

    /// The deliverer of events from the outbox to links and webhooks.
    pub fn deliverer(&self, settings: &Settings) -> anyhow::Result<Deliverer> {
        Deliverer::new(
            self.intake(),
            self.access.clone(),
            DeliverySettings {
                webhook_attempts: settings.webhook_attempts.max(1),
                webhook_timeout: Duration::from_secs(settings.webhook_timeout_secs),
                backoff_min: Duration::from_millis(settings.event_retry_min_ms),
                backoff_max: Duration::from_secs(settings.event_retry_max_secs),
                webhook_secret: settings.webhook_secret.clone(),
                concurrency: settings.event_deliveries,
                webhook_private_addresses: settings.webhook_private_addresses,
            },
        )
        .context("event delivery")
    }
}

/// The key secret configs are sealed with, when the settings give one.
fn configs_key(settings: &Settings) -> Option<ConfigKey> {
    settings
        .configs_key
        .as_ref()
        .map(|secret| ConfigKey::from_secret(secret.expose()))
}

/// How runs on this host are confined.
fn sandbox(settings: &Settings) -> Sandbox {
    Sandbox {
        cap_add: settings.run_cap_add.clone(),
        pids_limit: settings.run_pids_limit,
        log_max_size: settings.run_log_max_size.clone(),
        log_max_files: settings.run_log_max_files,
        network: match settings.run_network {
            RunNetwork::Bridge => "bridge".into(),
            RunNetwork::None => "none".into(),
        },
        read_only_rootfs: settings.run_read_only_rootfs,
        tmpfs_size: settings.run_tmpfs_size.clone(),
        init: settings.run_init,
    }
}

/// A number of CPUs as Docker's nanocpus; `None` (no limit) for 0.
fn nano_cpus(cpus: f64) -> Option<u64> {
    let nanos = (cpus * 1e9).round();
    // The cast saturates; the range check keeps it exact.
    (nanos >= 1.0 && nanos < u64::MAX as f64).then_some(nanos as u64)
}

/// The administrators' mounts of every tenant: the top-level ones for the default tenant.
fn tenant_mounts(settings: &Settings) -> anyhow::Result<TenantMounts> {
    let mut by_tenant: HashMap<String, Vec<MountSettings>> = HashMap::new();
    by_tenant
        .entry(settings.default_tenant.to_ascii_lowercase())
        .or_default()
        .extend(settings.mounts.iter().cloned());
    for (tenant, tenant_settings) in &settings.tenants {
        by_tenant
            .entry(tenant.to_ascii_lowercase())
            .or_default()
            .extend(tenant_settings.mounts.iter().cloned());
    }
    TenantMounts::new(by_tenant).context("mounts")
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
