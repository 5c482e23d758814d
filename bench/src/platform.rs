//! Starting the platform from the release binary on free loopback ports, finding its
//! processes, and removing every trace of it afterwards.

use std::{
    fs::File,
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::api::Api;

/// Which topology to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Topology {
    /// `abaco up`: one process, embedded store and mailboxes.
    Embedded,
    /// One process per component, against Redis and RabbitMQ.
    Distributed,
    /// As `distributed`, with the gateway hosting its own messages service
    /// (`ABACO_GATEWAY_MESSAGES=in-process`): no gRPC hop between processes for a REST send.
    DistributedInGateway,
}

impl Topology {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Distributed => "distributed",
            Self::DistributedInGateway => "distributed, messages in gateway",
        }
    }

    /// Whether its records and messages live in Redis and RabbitMQ.
    pub fn on_redis(self) -> bool {
        self != Self::Embedded
    }
}

/// Where the platform's parts are and how to reach the services it runs on.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The `abaco` binary.
    pub binary: PathBuf,
    /// Redis for the distributed backend (and the raw baseline).
    pub redis_url: String,
    /// RabbitMQ for the distributed backend (and the raw baseline).
    pub amqp_url: String,
    /// Settings every component gets besides the bench's own (`ABACO_*` name, value).
    pub settings: Vec<(String, String)>,
}

/// The distributed components, in start order.
const COMPONENTS: [&str; 6] = [
    "registration",
    "messages",
    "admin",
    "spawner",
    "gateway",
    "health",
];

/// A running platform; its processes, containers and records go when it is dropped.
#[derive(Debug)]
pub struct Platform {
    /// Which topology it is.
    pub topology: Topology,
    /// Its REST API.
    pub api: Api,
    /// The gRPC endpoint that serves `Messages`.
    pub messages_addr: SocketAddr,
    /// Prefix of its Redis keys, queues and container labels.
    pub namespace: String,
    children: Vec<(String, Child)>,
    redis_url: String,
    // Kept for its lifetime: the embedded data and the processes' logs live here.
    dir: tempfile::TempDir,
}

/// A loopback address nothing listens on right now.
fn free_addr() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Platform {
    /// Starts `topology` and waits until its REST API and gRPC endpoints answer.
    pub async fn start(env: &Environment, topology: Topology) -> Result<Self> {
        let namespace = format!("bench{}", rand::random::<u32>());
        let http = free_addr()?;
        let grpc: Vec<SocketAddr> = (0..4).map(|_| free_addr()).collect::<Result<_>>()?;
        let dir = tempfile::Builder::new().prefix("abaco-bench-").tempdir()?;
        let mut platform = Self {
            topology,
            api: Api::new(http)?,
            messages_addr: match topology {
                Topology::Embedded => grpc[0],
                Topology::Distributed | Topology::DistributedInGateway => grpc[1],
            },
            namespace,
            children: Vec::new(),
            redis_url: env.redis_url.clone(),
            dir,
        };
        let base = |sub: &str| platform.command(env, sub, http);
        let mut spawned = Vec::new();
        match topology {
            Topology::Embedded => {
                let mut up = base("up");
                up.env("ABACO_GRPC_ADDR", grpc[0].to_string());
                spawned.push(("up".to_string(), up));
            }
            Topology::Distributed | Topology::DistributedInGateway => {
                for component in COMPONENTS {
                    let mut cmd = base(component);
                    cmd.env("ABACO_BACKEND", "distributed");
                    match component {
                        "gateway" => {
                            cmd.env("ABACO_REGISTRATION_URL", format!("http://{}", grpc[0]))
                                .env("ABACO_MESSAGES_URL", format!("http://{}", grpc[1]))
                                .env("ABACO_ADMIN_URL", format!("http://{}", grpc[2]));
                            if topology == Topology::DistributedInGateway {
                                cmd.env("ABACO_GATEWAY_MESSAGES", "in-process");
                            }
                        }
                        "health" => {}
                        other => {
                            let index = COMPONENTS.iter().position(|c| *c == other).unwrap_or(0);
                            cmd.env("ABACO_GRPC_ADDR", grpc[index].to_string());
                        }
                    }
                    spawned.push((component.to_string(), cmd));
                }
            }
        }
        for (name, mut cmd) in spawned {
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", env.binary.display()))?;
            platform.children.push((name, child));
        }
        let listening = match topology {
            Topology::Embedded => vec![grpc[0]],
            Topology::Distributed | Topology::DistributedInGateway => grpc,
        };
        platform.wait_ready(&listening).await?;
        Ok(platform)
    }

    fn command(&self, env: &Environment, subcommand: &str, http: SocketAddr) -> Command {
        let log = File::create(self.dir.path().join(format!("{subcommand}.log")))
            .map_or_else(|_| Stdio::null(), Stdio::from);
        let mut cmd = Command::new(&env.binary);
        cmd.arg(subcommand)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ABACO_LOG", "warn")
            .env("ABACO_HTTP_ADDR", http.to_string())
            .env("ABACO_DATA_DIR", self.dir.path().join("data"))
            .env("ABACO_NAMESPACE", &self.namespace)
            .env("ABACO_REDIS_URL", &env.redis_url)
            .env("ABACO_AMQP_URL", &env.amqp_url)
            // Room for the memory measurement's 100 actors with a worker each.
            .env("ABACO_SPAWNER_CAPACITY", "256")
            // The bench's user sets maxWorkers, which is for privileged users.
            .env("ABACO_PRIVILEGED", "[anonymous]")
            .envs(env.settings.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        cmd
    }

    async fn wait_ready(&mut self, grpc: &[SocketAddr]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for (name, child) in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "abaco {name} exited during start-up ({status}); see {}",
                        self.dir.path().join(format!("{name}.log")).display()
                    );
                }
            }
            let grpc_up = grpc.iter().all(|a| TcpStream::connect(a).is_ok());
            if grpc_up && self.api.list_actors().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the {} platform did not come up in 30 s",
                    self.topology.name()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Process id of one of its own processes (`up`, `gateway`, `spawner`, ...).
    pub fn pid(&self, component: &str) -> Option<u32> {
        self.children
            .iter()
            .find(|(name, _)| name == component)
            .map(|(_, child)| child.id())
    }

    /// Its processes by component name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.children
            .iter()
            .map(|(name, child)| (name.clone(), child.id()))
            .collect()
    }

    /// Worker processes of this platform (children of its spawner).
    pub fn worker_pids(&self) -> Vec<u32> {
        processes()
            .into_iter()
            .filter(|pid| {
                let args = cmdline(*pid);
                // `abaco-worker --worker-id ...` or `abaco worker --worker-id ...`.
                args.iter().any(|a| a == "--worker-id") && in_namespace(*pid, &self.namespace)
            })
            .collect()
    }

    /// Kills its processes and workers, removes its containers and Redis keys. Idempotent.
    pub fn shutdown(&mut self) {
        for (_, mut child) in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in self.worker_pids() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        remove_containers(&self.namespace);
        if self.topology.on_redis() {
            remove_redis_keys(&self.redis_url, &self.namespace);
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Label of the benchmark's own raw-cycle containers.
pub const RAW_LABEL: &str = "org.abaco-bench.namespace";

/// Force-removes the platform's containers (labelled `org.abaco.namespace=namespace`) and the
/// raw-cycle ones.
fn remove_containers(namespace: &str) {
    for label in ["org.abaco.namespace", RAW_LABEL] {
        remove_labelled(&format!("label={label}={namespace}"));
    }
}

fn remove_labelled(filter: &str) {
    let Ok(listed) = Command::new("docker")
        .args(["ps", "-aq", "--filter", filter])
        .output()
    else {
        return;
    };
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

/// Deletes the Redis keys of `namespace` (they are `{namespace:table}...`), on a runtime of
/// its own since this runs from `Drop`.
fn remove_redis_keys(url: &str, namespace: &str) {
    let url = url.to_string();
    let pattern = format!("{{{namespace}:*");
    let cleanup = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let _ = crate::baseline::delete_redis_keys(&url, &pattern).await;
        });
    });
    let _ = cleanup.join();
}

/// Every process id on the machine.
pub fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The arguments of `pid`.
fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Whether `pid` runs with `ABACO_NAMESPACE=namespace`.
fn in_namespace(pid: u32, namespace: &str) -> bool {
    let wanted = format!("ABACO_NAMESPACE={namespace}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .any(|var| var == wanted.as_bytes())
}

/// Resident memory of `pid` in bytes (`VmRSS` of `/proc/{pid}/status`).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no VmRSS for {pid}"))?;
    Ok(kb * 1024)
}

/// The release `abaco` binary: `target/release/abaco` of this workspace.
pub fn default_binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("release/abaco")
}
