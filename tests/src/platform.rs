//! Starting, killing and restarting the platform's processes.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::api::Api;

/// Which backend a platform runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// `abaco up`: one process, files under a temporary data dir.
    Embedded,
    /// `abaco registration`, `messages`, `admin` and `gateway` as separate processes against
    /// Redis and RabbitMQ.
    Distributed,
}

/// A running platform. Its processes are killed when it is dropped.
#[derive(Debug)]
pub struct Platform {
    /// Which backend it runs on.
    pub kind: BackendKind,
    /// The REST API.
    pub api: Api,
    /// Address of the gRPC endpoint (the registration service when distributed).
    pub grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    service_addrs: Vec<SocketAddr>,
    namespace: String,
    data_dir: tempfile::TempDir,
    /// One file per component, holding what it (and the workers it started) wrote to stderr:
    /// shown when a test fails, so that a failure's own message is not buried under the
    /// warnings its faults are expected to cause.
    log_dir: tempfile::TempDir,
    children: Vec<Child>,
    redis_url: String,
    amqp_url: String,
    /// Settings every component gets on top of the suite's own.
    extra_env: Vec<(String, String)>,
    /// The token the components of a distributed platform prove themselves with.
    internal_token: String,
    /// Where each component serves its metrics.
    metrics_addrs: Vec<(&'static str, SocketAddr)>,
}

/// The HS256 secret of platforms started with [`Platform::start_jwt`].
pub const JWT_SECRET: &str = "a-jwt-secret-for-the-test-suite-0123456789";

/// The `abaco` binary under test: `ABACO_BIN`, else the workspace's debug build.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("ABACO_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let path = target.join("debug/abaco");
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p abaco-cli`, as tests/run.sh does)",
        path.display()
    );
    path
}

/// How many times a platform is started on fresh ports before its test fails.
const START_ATTEMPTS: u32 = 3;

/// The lowest port tests pick for their servers.
const LOWEST_PICKED_PORT: u16 = 10_000;

/// The first port the kernel gives outgoing connections (`ip_local_port_range`). Ports the
/// tests pick for their servers lie below it: a port taken with `bind(0)` and let go lies in
/// that range, where any client socket of the tests running alongside may take it before the
/// server binds it (RabbitMQ then exits at boot with "eaddrinuse").
fn first_client_port() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .filter(|&low: &u16| low > LOWEST_PICKED_PORT + 1_000)
        .unwrap_or(32_768)
}

/// `n` distinct loopback ports nothing listens on right now, below the ports the kernel gives
/// clients: all are held until all are found, so none is picked twice.
pub fn free_addrs(n: usize) -> Vec<SocketAddr> {
    let below = first_client_port();
    let mut held: Vec<TcpListener> = Vec::with_capacity(n);
    while held.len() < n {
        let port = rand::random_range(LOWEST_PICKED_PORT..below);
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
        }
    }
    held.iter().map(|l| l.local_addr().unwrap()).collect()
}

/// A loopback port nothing listens on right now (see [`free_addrs`]).
pub fn free_addr() -> SocketAddr {
    free_addrs(1)[0]
}

/// Redis for the distributed backend.
pub fn redis_url() -> String {
    std::env::var("ABACO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// RabbitMQ for the distributed backend.
pub fn amqp_url() -> String {
    std::env::var("ABACO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

impl Platform {
    /// Starts a platform and waits until its REST API answers.
    pub async fn start(kind: BackendKind) -> Self {
        Self::start_with_urls(kind, redis_url(), amqp_url()).await
    }

    /// Starts a platform whose distributed components use this Redis and this RabbitMQ
    /// (e.g. private instances a test may restart), and waits until its REST API answers.
    pub async fn start_with_urls(kind: BackendKind, redis_url: String, amqp_url: String) -> Self {
        Self::launch(kind, redis_url, amqp_url, Vec::new(), false).await
    }

    /// [`Platform::start_with_urls`] with these `ABACO_*` settings besides the suite's own.
    pub async fn start_with_urls_and_settings(
        kind: BackendKind,
        redis_url: String,
        amqp_url: String,
        settings: &[(&str, &str)],
    ) -> Self {
        let settings = settings
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Self::launch(kind, redis_url, amqp_url, settings, false).await
    }

    /// Starts a platform whose components all get these `ABACO_*` settings besides the
    /// suite's own, and waits until its REST API answers.
    pub async fn start_with_settings(kind: BackendKind, settings: &[(&str, &str)]) -> Self {
        Self::start_with_urls_and_settings(kind, redis_url(), amqp_url(), settings).await
    }

    /// Starts a platform whose components each serve `/metrics` at an address of their own
    /// ([`Platform::metrics_addr`]). Only on request: a component restarted on a port that
    /// another test took meanwhile would not start.
    pub async fn start_with_metrics(kind: BackendKind) -> Self {
        Self::launch(kind, redis_url(), amqp_url(), Vec::new(), true).await
    }

    /// Starts a platform in `jwt` mode (HS256 with [`JWT_SECRET`]) with these settings
    /// besides; its callers need tokens ([`Platform::token`], [`Platform::api_as`]).
    pub async fn start_jwt(kind: BackendKind, settings: &[(&str, &str)]) -> Self {
        let mut all = vec![
            ("ABACO_AUTH", "jwt"),
            ("ABACO_JWT_HS256_SECRET", JWT_SECRET),
        ];
        all.extend_from_slice(settings);
        Self::start_with_settings(kind, &all).await
    }

    /// Whether callers must bring a JWT.
    pub fn is_jwt(&self) -> bool {
        self.extra_env
            .iter()
            .any(|(name, value)| name == "ABACO_AUTH" && value == "jwt")
    }

    /// A token for `user` of `tenant` (`None`: the default tenant), valid for an hour, signed
    /// with [`JWT_SECRET`].
    pub fn token(&self, user: &str, tenant: Option<&str>) -> String {
        token_with(&serde_json::json!({
            "sub": user,
            "tenant": tenant,
            "exp": jsonwebtoken::get_current_timestamp() + 3600,
        }))
    }

    /// The API as `user` of the default tenant: a token in `jwt` mode, the `X-Abaco-User`
    /// header otherwise.
    pub fn api_as(&self, user: &str) -> Api {
        if self.is_jwt() {
            self.api.with_token(&self.token(user, None))
        } else {
            self.api.with_header("x-abaco-user", user)
        }
    }

    /// Where `component` (`up`, or one of the distributed platform's) serves `/metrics`.
    pub fn metrics_addr(&self, component: &str) -> Option<SocketAddr> {
        self.metrics_addrs
            .iter()
            .find(|(name, _)| *name == component)
            .map(|(_, addr)| *addr)
    }

    /// The token the distributed components prove themselves to each other with.
    pub fn internal_token(&self) -> &str {
        &self.internal_token
    }

    async fn launch(
        kind: BackendKind,
        redis_url: String,
        amqp_url: String,
        extra_env: Vec<(String, String)>,
        metrics: bool,
    ) -> Self {
        // A port picked for a component may be taken by another test's platform before the
        // component binds it; the component then exits at once, and fresh ports are tried.
        for attempt in 1..=START_ATTEMPTS {
            let mut platform = Self::prepare(
                kind,
                redis_url.clone(),
                amqp_url.clone(),
                extra_env.clone(),
                metrics,
            );
            platform.spawn_all();
            match platform.ready().await {
                Ok(()) => return platform,
                Err(exited) if attempt < START_ATTEMPTS && platform.lost_a_port() => {
                    eprintln!("{exited}; starting again on fresh ports");
                }
                Err(exited) => panic!("{exited}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// A platform not yet started, on freshly picked ports.
    fn prepare(
        kind: BackendKind,
        redis_url: String,
        amqp_url: String,
        extra_env: Vec<(String, String)>,
        metrics: bool,
    ) -> Self {
        let namespace = format!("test{}", rand::random::<u32>());
        // Every port of the platform from one batch, so no two of them are the same.
        let (services, components): (usize, &[&'static str]) = match kind {
            BackendKind::Embedded => (1, &["up"]),
            BackendKind::Distributed => (4, &DISTRIBUTED_COMPONENTS),
        };
        let mut ports = free_addrs(1 + services + components.len()).into_iter();
        let http_addr = ports.next().unwrap();
        let service_addrs: Vec<SocketAddr> = ports.by_ref().take(services).collect();
        let metrics_addrs: Vec<(&'static str, SocketAddr)> = if metrics {
            components.iter().copied().zip(ports).collect()
        } else {
            Vec::new()
        };
        Self {
            kind,
            api: Api::new(http_addr),
            grpc_addr: service_addrs[0],
            http_addr,
            service_addrs,
            namespace,
            data_dir: tempfile::tempdir().unwrap(),
            log_dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
            redis_url,
            amqp_url,
            extra_env,
            internal_token: format!("it{}{}", rand::random::<u64>(), rand::random::<u64>()),
            metrics_addrs,
        }
    }

    /// Whether a component's log says another process had its address.
    fn lost_a_port(&self) -> bool {
        self.log_tail(20).contains("Address already in use")
    }

    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(binary());
        command
            .arg(subcommand)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ABACO_LOG", log_level())
            .env("ABACO_HTTP_ADDR", self.http_addr.to_string())
            .env("ABACO_DATA_DIR", self.data_dir.path())
            .env("ABACO_NAMESPACE", &self.namespace)
            .env("ABACO_REDIS_URL", &self.redis_url)
            .env("ABACO_AMQP_URL", &self.amqp_url)
            // Short enough for scaling tests to see idle workers go; actors with the default
            // minWorkers (1) keep their worker.
            .env("ABACO_WORKER_IDLE_TIMEOUT_SECS", "3")
            .env("ABACO_ADMINS", "[root]")
            // The suite's default user may set maxWorkers and the like.
            .env("ABACO_PRIVILEGED", "[anonymous]")
            .env("ABACO_INTERNAL_TOKEN", &self.internal_token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.log_file(subcommand));
        if let Some(addr) = self.metrics_addr(subcommand) {
            command.env("ABACO_METRICS_ADDR", addr.to_string());
        }
        command.envs(self.extra_env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// The component's log, appended to across restarts.
    fn log_file(&self, component: &str) -> Stdio {
        let path = self.log_dir.path().join(format!("{component}.log"));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_or_else(|_| Stdio::inherit(), Stdio::from)
    }

    /// The last `lines` lines each component logged, headed by its name.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.log_dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .collect();
        files.sort();
        let mut tail = String::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let name = file.file_stem().unwrap_or_default().to_string_lossy();
            tail.push_str(&format!(
                "--- {name}: last {} of {} lines\n",
                lines.min(all.len()),
                all.len()
            ));
            for line in &all[all.len().saturating_sub(lines)..] {
                tail.push_str(line);
                tail.push('\n');
            }
        }
        tail
    }

    fn spawn_all(&mut self) {
        match self.kind {
            BackendKind::Embedded => {
                let mut up = self.command("up");
                up.env("ABACO_GRPC_ADDR", self.service_addrs[0].to_string());
                self.children.push(up.spawn().unwrap());
            }
            BackendKind::Distributed => {
                for component in DISTRIBUTED_COMPONENTS {
                    let child = self.distributed_command(component).spawn().unwrap();
                    self.children.push(child);
                }
            }
        }
    }

    /// The command that starts one component of the distributed platform, on its own address.
    fn distributed_command(&self, component: &str) -> Command {
        let url = |service: &str| format!("http://{}", self.component_addr(service).unwrap());
        let mut command = self.command(component);
        match component {
            "gateway" => {
                command
                    .env("ABACO_REGISTRATION_URL", url("registration"))
                    .env("ABACO_MESSAGES_URL", url("messages"))
                    .env("ABACO_ADMIN_URL", url("admin"));
            }
            "health" => {
                command.env("ABACO_BACKEND", "distributed");
            }
            other => {
                let addr = self
                    .component_addr(other)
                    .unwrap_or_else(|| panic!("no distributed component {other:?}"));
                command
                    .env("ABACO_BACKEND", "distributed")
                    .env("ABACO_GRPC_ADDR", addr.to_string());
            }
        }
        command
    }

    /// Process id of this platform's `component` process (`up`, `gateway`, `spawner`, ...),
    /// if it runs.
    pub fn component_pid(&self, component: &str) -> Option<u32> {
        self.children
            .iter()
            .map(Child::id)
            .find(|pid| subcommand_of(*pid).as_deref() == Some(component))
    }

    /// Kills the `component` process of a distributed platform with SIGKILL, as a crash would
    /// (processes it started, such as a spawner's workers, go on), and starts a new one on the
    /// same address. Does not wait for it: its peers find it when it is up.
    pub fn restart_component(&mut self, component: &str) {
        self.kill_component(component);
        self.start_component(component);
    }

    /// Kills the `component` process of a distributed platform with SIGKILL and leaves it down.
    pub fn kill_component(&mut self, component: &str) {
        assert_eq!(
            self.kind,
            BackendKind::Distributed,
            "only distributed platforms have components"
        );
        if let Some(index) = self
            .children
            .iter()
            .position(|child| subcommand_of(child.id()).as_deref() == Some(component))
        {
            let mut child = self.children.remove(index);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the `component` process of a distributed platform on its address. Does not wait
    /// for it.
    pub fn start_component(&mut self, component: &str) {
        let child = self.distributed_command(component).spawn().unwrap();
        self.children.push(child);
    }

    /// Starts the distributed `component` again (after [`Platform::kill_component`]) with
    /// these variables besides its usual ones, e.g. a skewed clock.
    pub fn start_component_with(&mut self, component: &str, env: &[(&str, &str)]) {
        let mut command = self.distributed_command(component);
        command.envs(env.iter().copied());
        let child = command.spawn().unwrap();
        self.children.push(child);
    }

    /// Starts one more spawner of the distributed platform, on an address of its own, with
    /// these settings besides the suite's (e.g. the queues it serves); its process id.
    pub fn start_extra_spawner(&mut self, settings: &[(&str, &str)]) -> u32 {
        let mut command = self.command("spawner");
        command
            .env_remove("ABACO_METRICS_ADDR")
            .env("ABACO_BACKEND", "distributed")
            .env("ABACO_GRPC_ADDR", free_addr().to_string())
            .envs(settings.iter().copied());
        let child = command.spawn().unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// The address the distributed `component` serves gRPC on (`service_addrs` holds them in
    /// this order).
    pub fn component_addr(&self, component: &str) -> Option<SocketAddr> {
        let index = ["registration", "messages", "admin", "spawner"]
            .iter()
            .position(|name| *name == component)?;
        self.service_addrs.get(index).copied()
    }

    /// Where the user-facing gRPC `service` (registration, messages, admin) is served: the
    /// one gRPC port of `abaco up`, or that component's own.
    pub fn service_addr(&self, service: &str) -> SocketAddr {
        match self.kind {
            BackendKind::Embedded => self.grpc_addr,
            BackendKind::Distributed => self
                .component_addr(service)
                .unwrap_or_else(|| panic!("no distributed service {service:?}")),
        }
    }

    /// Waits until the REST API answers and the gRPC endpoints accept connections.
    pub async fn wait_ready(&mut self) {
        if let Err(exited) = self.ready().await {
            panic!("{exited}");
        }
    }

    /// [`Platform::wait_ready`], with an error when a process exited during start-up.
    async fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for child in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("an abaco process exited during start-up: {status}"));
                }
            }
            let grpc_up = self
                .service_addrs
                .iter()
                .all(|addr| std::net::TcpStream::connect(addr).is_ok());
            // Ready means a spawner is announced too: a test's first request may need a worker.
            if grpc_up && self.api.get("/actors").await.is_ok() && self.has_spawner().await {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "the platform did not come up in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the platform lists at least one live spawner (asked as the admin `root`).
    async fn has_spawner(&self) -> bool {
        match self.api_as("root").get("/actors/utilization").await {
            Ok(answer) => answer.result()["spawners"].as_u64().unwrap_or(0) > 0,
            Err(_) => false,
        }
    }

    /// The platform's store, opened from the test: the embedded one only while the platform
    /// is down ([`Platform::kill`]), its file being locked while it runs.
    pub async fn open_store(&self) -> std::sync::Arc<dyn abaco::store::Store> {
        match self.kind {
            BackendKind::Embedded => std::sync::Arc::new(
                abaco_store::RedbStore::open(&self.data_dir.path().join("store.redb")).unwrap(),
            ),
            BackendKind::Distributed => std::sync::Arc::new(
                abaco_store::RedisStore::connect_with_prefix(&self.redis_url, &self.namespace)
                    .await
                    .unwrap(),
            ),
        }
    }

    /// Starts a killed platform again on the same data, and waits until it answers.
    pub async fn start_again(&mut self) {
        self.spawn_all();
        self.wait_ready().await;
    }

    /// Kills every process with SIGKILL, as a crash would, and the worker processes their
    /// spawner started.
    pub fn kill(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in self.worker_pids(None) {
            kill_9(pid);
        }
    }

    /// Process ids of this platform's worker processes (distributed only), optionally of one
    /// actor.
    pub fn worker_pids(&self, actor_id: Option<&str>) -> Vec<u32> {
        let mut pids = Vec::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return pids;
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let ours = environ
                .split(|b| *b == 0)
                .any(|var| var == format!("ABACO_NAMESPACE={}", self.namespace).as_bytes());
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            // `abaco-worker --worker-id ...` or `abaco worker --worker-id ...`.
            let is_worker = args.contains(&b"--worker-id".as_slice());
            let of_actor = actor_id.is_none_or(|id| args.contains(&id.as_bytes()));
            if ours && is_worker && of_actor {
                pids.push(pid);
            }
        }
        pids
    }

    /// The embedded platform's data directory (its store, its keys).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The namespace of this platform (Redis key prefix, queue prefix, container label).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Kills every process with SIGKILL, starts them again on the same data and ports, and
    /// waits until they answer.
    pub async fn crash_and_restart(&mut self) {
        self.kill();
        self.start_again().await;
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "the platform's logs (ABACO_LOG={}):\n{}",
                log_level(),
                self.log_tail(40)
            );
        }
        // Containers a killed platform left running are no test's business any more.
        let listed = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=org.abaco.namespace={}", self.namespace))
            .output();
        if let Ok(listed) = listed {
            let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
        }
    }
}

/// A token with these claims, signed with [`JWT_SECRET`].
pub fn token_with(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// What the platform's processes log: `ABACO_LOG`, else warnings and errors.
fn log_level() -> String {
    std::env::var("ABACO_LOG").unwrap_or_else(|_| "warn".into())
}

/// The distributed platform's processes, in start order.
const DISTRIBUTED_COMPONENTS: [&str; 6] = [
    "registration",
    "messages",
    "admin",
    "spawner",
    "gateway",
    "health",
];

/// The `abaco` subcommand process `pid` runs (its first argument), if it is alive.
fn subcommand_of(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let arg = cmdline.split(|b| *b == 0).nth(1)?;
    Some(String::from_utf8_lossy(arg).into_owned())
}

/// `abaco registration` alone, on the distributed backend against `redis_url` and `amqp_url`,
/// serving gRPC at `grpc`, with a namespace of its own and nothing of the suite's settings:
/// for tests of how a component starts. Its stderr is piped.
pub fn lone_registration(redis_url: &str, amqp_url: &str, grpc: SocketAddr) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("registration")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ABACO_LOG", "warn")
        .env("ABACO_BACKEND", "distributed")
        .env("ABACO_REDIS_URL", redis_url)
        .env("ABACO_AMQP_URL", amqp_url)
        .env("ABACO_NAMESPACE", format!("lone{}", rand::random::<u32>()))
        .env("ABACO_GRPC_ADDR", grpc.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Sends SIGKILL to `pid`.
pub fn kill_9(pid: u32) {
    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
}
