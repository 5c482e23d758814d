//! Settings every component reads. The `abaco` binary fills them in layers: these defaults,
//! then a TOML file, then `ABACO_*` environment variables, then command-line flags.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

/// The queue of an actor that names none, and the one a spawner serves unless told.
pub const DEFAULT_QUEUE: &str = "default";

/// Executions a mailbox purge ends at once, unless `purge_concurrency` says otherwise.
pub const DEFAULT_PURGE_CONCURRENCY: usize = 16;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// How callers prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// The caller names itself in `X-Abaco-User` (else `default_user`): for development on
    /// one machine only, so every listener must be on loopback.
    #[default]
    Header,
    /// Every call carries a JWT, verified with the keys of the caller's tenant.
    Jwt,
}

/// The network a run's container joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunNetwork {
    /// Docker's default bridge: the run reaches the network, and callers reach the API.
    #[default]
    Bridge,
    /// No network at all.
    None,
}

/// When a host pulls an actor's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ImagePull {
    /// The first worker of each actor revision on a host pulls (registration, a new image or
    /// `force: true`), falling back to the host's copy when the registry cannot be reached;
    /// later workers pull only when the host lacks the image.
    #[default]
    NewRevision,
    /// Only a host that lacks the image pulls it.
    Missing,
}

/// A host directory an administrator mounts into every run of a tenant's actors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MountSettings {
    /// Absolute host path; `{username}` stands for the actor's owner.
    pub host_path: String,
    /// Absolute path inside the container; `{username}` as above.
    pub container_path: String,
    /// `ro` (the default) or `rw`.
    pub mode: String,
}

/// Roles and keys of one tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    /// Users who administer the tenant.
    pub admins: Vec<String>,
    /// Users who may set the restricted actor fields.
    pub privileged: Vec<String>,
    /// Users whose requests are throttled.
    pub limited: Vec<String>,
    /// HS256 secret for this tenant's tokens (besides the platform-wide one).
    pub jwt_hs256_secret: Option<Secret>,
    /// PEM public keys (RSA for RS256, EC P-256 for ES256) that sign this tenant's tokens.
    pub jwt_public_keys: Vec<PathBuf>,
    /// A JWKS file with this tenant's public keys.
    pub jwks_file: Option<PathBuf>,
    /// Host directories mounted into every run of this tenant's actors.
    pub mounts: Vec<MountSettings>,
}

/// Which backend holds records and mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A file store and file mailboxes under `data_dir`, for one process.
    #[default]
    Embedded,
    /// Redis for records, RabbitMQ for mailboxes.
    Distributed,
}

/// Where `abaco gateway` finds the messages service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GatewayMessages {
    /// The messages service at `messages_url`, over gRPC.
    #[default]
    Remote,
    /// An instance of the messages service inside the gateway process, on the distributed
    /// backend: a REST send then costs no gRPC hop between processes (BENCHMARKS.md).
    InProcess,
}

/// What a distributed component does at start when the store could lose acknowledged writes
/// (Redis without `appendfsync always`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreDurability {
    /// Logs a warning saying what could be lost, and starts.
    #[default]
    Warn,
    /// Refuses to start.
    Require,
}

/// Case of field names in REST answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// `statusMessage`, as abaco's published spec.
    #[default]
    Camel,
    /// `status_message`.
    Snake,
}

/// All settings, with their defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the REST gateway listens.
    pub http_addr: SocketAddr,
    /// Where the gRPC services listen.
    pub grpc_addr: SocketAddr,
    /// Where the embedded backend keeps its files.
    pub data_dir: PathBuf,
    /// Which backend `up` and the components use.
    pub backend: Backend,
    /// Redis, for the distributed backend.
    pub redis_url: String,
    /// RabbitMQ, for the distributed backend.
    pub amqp_url: String,
    /// Seconds one broker round trip (a declare, a publish and its confirm, ...) may take
    /// before the link counts as broken.
    pub amqp_round_trip_timeout_secs: u64,
    /// Seconds one connection attempt to the broker may take (at most the round trip's).
    pub amqp_connect_timeout_secs: u64,
    /// Connections the distributed store keeps to Redis.
    pub redis_pool_size: usize,
    /// One connection attempt to Redis.
    pub redis_connect_timeout_secs: u64,
    /// One Redis command; a longer one fails (and may or may not have been applied).
    pub redis_command_timeout_secs: u64,
    /// Seconds a worker whose mailbox channel broke keeps trying to subscribe again before
    /// it stops with the error (and the health checks start another).
    pub amqp_resubscribe_secs: u64,
    /// Prefix of every Redis key and RabbitMQ queue name, so several platforms (or test runs)
    /// can share one Redis and one broker.
    pub namespace: String,
    /// How callers are identified: `header` (development on loopback) or `jwt`.
    pub auth: AuthMode,
    /// The tenant of callers whose credentials name none (and of everyone in header mode).
    pub default_tenant: String,
    /// Administrators of the default tenant.
    pub admins: Vec<String>,
    /// Privileged users of the default tenant.
    pub privileged: Vec<String>,
    /// Limited (throttled) users of the default tenant.
    pub limited: Vec<String>,
    /// Requests per minute a limited user may make; more are answered 429.
    pub limited_requests_per_minute: u32,
    /// Other tenants (and more of the default one), by tenant id in lower case.
    pub tenants: BTreeMap<String, TenantSettings>,
    /// HS256 secret that signs tokens of every tenant.
    pub jwt_hs256_secret: Option<Secret>,
    /// PEM public keys that sign tokens of every tenant.
    pub jwt_public_keys: Vec<PathBuf>,
    /// A JWKS file with public keys that sign tokens of every tenant.
    pub jwks_file: Option<PathBuf>,
    /// The `iss` a token must carry; none checks no issuer.
    pub jwt_issuer: Option<String>,
    /// The `aud` a token must carry; none checks no audience.
    pub jwt_audience: Option<String>,
    /// Seconds of clock difference allowed when checking `exp` and `nbf`.
    pub jwt_leeway_secs: u64,
    /// A claim holding the caller's roles (abaco's names, e.g. `abaco_admin` or
    /// `Internal/abaco-admin`), added to the roles the settings give; none reads no claim.
    pub roles_claim: Option<String>,
    /// Token the components of a distributed platform prove themselves to each other with
    /// (the gateway asserting a caller, the fleet calling spawners and workers).
    pub internal_token: Option<Secret>,
    /// HS256 secret that signs the `_abaco_access_token` of runs (default: `jwt_hs256_secret`).
    pub access_token_secret: Option<Secret>,
    /// Seconds an `_abaco_access_token` is valid.
    pub access_token_ttl_secs: u64,
    /// gRPC endpoint of the registration service, for the gateway (default: `grpc_addr`).
    pub registration_url: Option<String>,
    /// gRPC endpoint of the messages service, for the gateway (default: `grpc_addr`).
    pub messages_url: Option<String>,
    /// gRPC endpoint of the admin service, for the gateway (default: `grpc_addr`).
    pub admin_url: Option<String>,
    /// Whether `abaco gateway` calls the messages service at `messages_url` or hosts one.
    pub gateway_messages: GatewayMessages,
    /// `warn` (default) or `require`: whether a distributed component starts on a Redis that
    /// could lose accepted messages on power failure (see the README on delivery).
    pub store_durability: StoreDurability,
    /// Seconds a component keeps trying to reach Redis and RabbitMQ at start before it gives
    /// up (0: one try).
    pub startup_timeout_secs: u64,
    /// Field-name case of REST answers.
    pub case: Case,
    /// Largest accepted REST request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest a REST request may take before it is answered 504; also the deadline of the
    /// gRPC calls it makes.
    pub request_timeout_secs: u64,
    /// Longest a synchronous message (`_abaco_synchronous=true`) waits for its run before the
    /// answer is 504 with the execution id; less than `request_timeout_secs`.
    pub sync_wait_secs: u64,
    /// A synchronous message is refused (409) while more messages than this wait in the
    /// actor's mailbox: it would wait behind them (abaco refuses past 3).
    pub sync_max_queue: u64,
    /// Milliseconds between a synchronous message's looks at its execution.
    pub sync_poll_ms: u64,
    /// How often following an execution not running yet reads its record.
    pub follow_poll_ms: u64,
    /// How long following a run looks for its container while it is being made and started.
    pub follow_find_secs: u64,
    /// Pause before a run's broken stats stream (its CPU and memory figures) is opened again.
    pub run_stats_retry_ms: u64,
    /// Seconds the gateway may take to connect to a service before the request is answered
    /// 503.
    pub service_connect_timeout_secs: u64,
    /// Seconds between keep-alive comments on a followed run's event stream, so proxies do
    /// not close a quiet one.
    pub follow_keep_alive_secs: u64,
    /// Seconds `abaco up` waits at exit for its workers to give back what they hold.
    pub shutdown_drain_secs: u64,
    /// Seconds a process waits at exit for its last spans to reach the collector.
    pub telemetry_flush_secs: u64,
    /// Milliseconds a worker pauses after a store failure before its next delivery, so a
    /// sick store is not hammered.
    pub worker_store_backoff_ms: u64,
    /// How long a worker handed a message whose execution record is not in yet waits for it
    /// (counted from the message's acceptance) before putting it aside as a dead letter.
    pub worker_record_wait_secs: u64,
    /// Attempts in all a worker makes at a store write that guards an ack (its claim, an
    /// execution's end, logs, results, a dead letter) while the store fails transiently.
    pub worker_persist_attempts: u32,
    /// Milliseconds before a worker's second attempt at such a write; doubled before each
    /// one after.
    pub worker_persist_pause_ms: u64,
    /// Origins whose web pages may call the REST API (CORS); `*` for any.
    pub cors_origins: Vec<String>,
    /// The user a request acts as in `header` mode when it names none.
    pub default_user: String,
    /// Version string in every REST answer.
    pub api_version: String,
    /// OTLP endpoint for traces; none exports nothing.
    pub otlp_endpoint: Option<String>,
    /// Where a component serves its Prometheus metrics at `/metrics`, to anyone who reaches
    /// it; none serves none. Worker processes never serve: they relay their samples to their
    /// spawner, which serves them.
    pub metrics_addr: Option<SocketAddr>,
    /// Seconds after which a gauge no one updates leaves the metrics (an actor's mailbox
    /// depth once the actor is gone).
    pub metrics_idle_secs: u64,
    /// Most workers one spawner runs at once.
    pub spawner_capacity: u32,
    /// The queues (abaco's actor field `queue`) whose actors' workers this host's spawner
    /// starts, e.g. `[gpu]` on a GPU host; an actor's workers start only on spawners serving
    /// its queue.
    pub spawner_queues: Vec<String>,
    /// Host name or address under which this host's spawner and workers are reached.
    pub advertise_host: String,
    /// Where per-run sockets and FIFOs are made; the Docker engine must see the same path.
    pub work_dir: Option<PathBuf>,
    /// Seconds a worker may sit idle before it is stopped (down to its actor's `minWorkers`).
    pub worker_idle_timeout_secs: u64,
    /// Seconds without a heartbeat after which a worker or spawner counts as dead (its run
    /// may be taken over, it gets no new workers): the one liveness timeout, judged by the
    /// store's clock so that hosts' clocks do not matter.
    pub worker_timeout_secs: u64,
    /// Longest run, in seconds, of an actor that sets no `maxRunTime`; 0 lets runs go on.
    pub default_max_run_time_secs: u64,
    /// Seconds between two passes of the health checks (liveness, scaling, orphans).
    pub health_interval_secs: u64,
    /// Seconds between two sweeps of the health checks over the executions not yet ended
    /// (stuck ones) and those due for retention.
    pub health_sweep_secs: u64,
    /// How many records a sweep reads from the store in one call.
    pub sweep_batch: usize,
    /// Executions in a page of a listing that names no `limit`.
    pub list_page_size: usize,
    /// The most executions one page of a listing may hold, whatever `limit` asks.
    pub list_page_max: usize,
    /// Executions a mailbox purge ends ERROR at once (each its own store write).
    pub purge_concurrency: usize,
    /// Seconds after its message came in before an execution that cannot finish on its own
    /// is ended ERROR by the sweep.
    pub stuck_after_secs: u64,
    /// Seconds a finished execution (its record, logs and results) is kept after it ended;
    /// 0 keeps them until their actor is deleted.
    pub execution_retention_secs: u64,
    /// Largest `maxRetries` an actor may set.
    pub max_retries: u32,
    /// Pause before a run's first retry, in milliseconds; doubled for each retry after.
    pub retry_backoff_ms: u64,
    /// Longest pause between two tries of a run, in seconds.
    pub retry_backoff_max_secs: u64,
    /// Memory limit in bytes of runs of actors that set no `memLimit`.
    pub run_mem_limit: u64,
    /// CPUs of runs of actors that set no `maxCpus`.
    pub run_cpus: f64,
    /// Most processes (and threads) a run may have at once.
    pub run_pids_limit: i64,
    /// Capabilities given back to runs, which start with none (e.g. `[NET_BIND_SERVICE]`).
    pub run_cap_add: Vec<String>,
    /// Largest Docker log file of a run (Docker's `max-size`, e.g. `10m`).
    pub run_log_max_size: String,
    /// Docker log files kept per run (Docker's `max-file`).
    pub run_log_max_files: u32,
    /// The network runs join: `bridge` or `none`.
    pub run_network: RunNetwork,
    /// Runs get a read-only root filesystem (and a writable tmpfs at /tmp).
    pub run_read_only_rootfs: bool,
    /// Size of the /tmp tmpfs of read-only runs (e.g. `64m`).
    pub run_tmpfs_size: String,
    /// Docker's init runs as PID 1 of every run, reaping the processes a run leaves behind.
    pub run_init: bool,
    /// Runs of a worker join a network namespace the worker keeps in a tiny holder
    /// container, instead of Docker making one (and a bridge link) for every run.
    pub run_network_holder: bool,
    /// Milliseconds a run that ended with SIGKILL's exit code (137) waits for Docker's late
    /// report that the kernel killed it for memory; 0 trusts the state read at its exit.
    pub oom_report_wait_ms: u64,
    /// Seconds a run (or hot container) killed for a force-quit or its time limit may take
    /// to be reported stopped before the worker goes on without that report.
    pub run_kill_grace_secs: u64,
    /// Milliseconds between looks at an execution another live worker is running, when
    /// its message was delivered again (the copy is acked once the owner records the end).
    pub worker_owner_poll_ms: u64,
    /// Seconds a labelled container must have existed before the health checks may take it
    /// for an orphan (covers a worker registered between the checks' two reads, and clock
    /// skew with the Docker host).
    pub orphan_min_age_secs: u64,
    /// Seconds between two heartbeats of a worker or spawner; keep it well under
    /// `worker_timeout_secs`, which judges them dead.
    pub heartbeat_secs: u64,
    /// Seconds one decision to start or stop an actor's workers may hold that actor's spawn
    /// lease (so two callers never both start one); a holder that died frees it after this.
    pub spawn_lease_secs: u64,
    /// Seconds a caller waits for another caller's spawn lease before giving up.
    pub spawn_lease_wait_secs: u64,
    /// Seconds deleting an actor waits for its workers to stop.
    pub actor_stop_wait_secs: u64,
    /// Seconds one control call to a spawner or worker may take.
    pub control_call_timeout_secs: u64,
    /// Milliseconds "this actor has a live worker" is believed after it was seen, so that
    /// messages to a busy actor do not each look through its workers.
    pub staffed_for_ms: u64,
    /// `uid[:gid]` runs use unless the actor has `useContainerUid`; none keeps the image's.
    pub run_user: Option<String>,
    /// Host directories mounted into every run of the default tenant's actors.
    pub mounts: Vec<MountSettings>,
    /// Registry credentials, in Docker's `config.json` format (`auths` by registry host).
    pub registry_auth_file: Option<PathBuf>,
    /// When a host pulls an actor's image: `new-revision` or `missing`.
    pub image_pull: ImagePull,
    /// Longest a pull may take before the actor is marked ERROR.
    pub image_pull_timeout_secs: u64,
    /// Most POSTs of one event to a webhook, the first included.
    pub webhook_attempts: u32,
    /// Longest one webhook POST may take.
    pub webhook_timeout_secs: u64,
    /// Key of the `X-Abaco-Signature` HMAC on webhook POSTs; unsigned without one.
    pub webhook_secret: Option<Secret>,
    /// First pause before an event delivery is tried again (it doubles each time).
    pub event_retry_min_ms: u64,
    /// Longest pause between two tries of an event delivery.
    pub event_retry_max_secs: u64,
    /// Events one deliverer delivers at once.
    pub event_deliveries: u16,
    /// Whether webhooks may point at loopback, private and link-local addresses (the
    /// platform's own network).
    pub webhook_private_addresses: bool,
    /// Pause between two looks of the cron scheduler for ticks that have come.
    pub cron_check_secs: u64,
    /// Largest `limit` a search may ask for.
    pub search_max_limit: usize,
    /// Key that seals secret actor configs at rest (`abaco up` makes one in `data_dir`);
    /// without one, secret configs are refused.
    pub configs_key: Option<Secret>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("abaco-data"),
            backend: Backend::Embedded,
            redis_url: "redis://127.0.0.1:6379".into(),
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            amqp_round_trip_timeout_secs: 15,
            amqp_connect_timeout_secs: 10,
            redis_pool_size: 4,
            redis_connect_timeout_secs: 5,
            redis_command_timeout_secs: 10,
            amqp_resubscribe_secs: 60,
            namespace: "abaco".into(),
            auth: AuthMode::Header,
            default_tenant: "default".into(),
            admins: Vec::new(),
            privileged: Vec::new(),
            limited: Vec::new(),
            limited_requests_per_minute: 60,
            tenants: BTreeMap::new(),
            jwt_hs256_secret: None,
            jwt_public_keys: Vec::new(),
            jwks_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_leeway_secs: 60,
            roles_claim: None,
            internal_token: None,
            access_token_secret: None,
            access_token_ttl_secs: 3600,
            registration_url: None,
            messages_url: None,
            admin_url: None,
            gateway_messages: GatewayMessages::Remote,
            store_durability: StoreDurability::Warn,
            startup_timeout_secs: 60,
            case: Case::Camel,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            sync_wait_secs: 25,
            sync_poll_ms: 50,
            follow_poll_ms: 250,
            follow_find_secs: 10,
            run_stats_retry_ms: 1000,
            service_connect_timeout_secs: 5,
            follow_keep_alive_secs: 15,
            shutdown_drain_secs: 5,
            telemetry_flush_secs: 5,
            worker_store_backoff_ms: 1000,
            worker_record_wait_secs: 15,
            worker_persist_attempts: 5,
            worker_persist_pause_ms: 200,
            sync_max_queue: 3,
            cors_origins: vec!["*".into()],
            default_user: "anonymous".into(),
            api_version: concat!(env!("CARGO_PKG_VERSION")).into(),
            otlp_endpoint: None,
            metrics_addr: None,
            metrics_idle_secs: 600,
            spawner_capacity: 32,
            spawner_queues: vec![DEFAULT_QUEUE.to_string()],
            advertise_host: "127.0.0.1".into(),
            work_dir: None,
            worker_idle_timeout_secs: 300,
            worker_timeout_secs: 10,
            default_max_run_time_secs: 24 * 3600,
            health_interval_secs: 2,
            health_sweep_secs: 60,
            sweep_batch: 500,
            list_page_size: 500,
            list_page_max: 5000,
            purge_concurrency: DEFAULT_PURGE_CONCURRENCY,
            stuck_after_secs: 120,
            execution_retention_secs: 0,
            max_retries: 10,
            retry_backoff_ms: 1000,
            retry_backoff_max_secs: 60,
            run_mem_limit: 2 << 30,
            run_cpus: 1.0,
            run_pids_limit: 512,
            run_cap_add: Vec::new(),
            run_log_max_size: "10m".into(),
            run_log_max_files: 2,
            run_network: RunNetwork::Bridge,
            run_read_only_rootfs: false,
            run_tmpfs_size: "64m".into(),
            run_init: true,
            run_network_holder: true,
            oom_report_wait_ms: 1000,
            run_kill_grace_secs: 10,
            worker_owner_poll_ms: 500,
            orphan_min_age_secs: 10,
            heartbeat_secs: 2,
            spawn_lease_secs: 15,
            spawn_lease_wait_secs: 10,
            actor_stop_wait_secs: 15,
            control_call_timeout_secs: 10,
            staffed_for_ms: 1000,
            run_user: None,
            mounts: Vec::new(),
            registry_auth_file: None,
            image_pull: ImagePull::NewRevision,
            image_pull_timeout_secs: 600,
            webhook_attempts: 5,
            webhook_timeout_secs: 10,
            webhook_secret: None,
            event_retry_min_ms: 1000,
            event_retry_max_secs: 60,
            event_deliveries: 16,
            webhook_private_addresses: false,
            cron_check_secs: 30,
            configs_key: None,
            search_max_limit: 1000,
        }
    }
}

impl Settings {
    /// The gRPC URL the gateway uses for a service, given its own setting.
    pub fn service_url(&self, own: Option<&String>) -> String {
        own.cloned()
            .unwrap_or_else(|| format!("http://{}", self.grpc_addr))
    }
}
