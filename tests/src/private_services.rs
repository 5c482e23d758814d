//! Private Redis and RabbitMQ instances, on free loopback ports with their data in a temporary
//! directory, for tests that kill or restart the store or the broker: the shared instances on
//! 6379 and 5672 serve every other test running at the same time and must not be touched.
//!
//! Both are killed (SIGKILL) and their files removed when dropped.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::platform::{free_addr, kill_9};

/// How many times a private RabbitMQ node is started on fresh ports before its test fails.
const BOOT_ATTEMPTS: u32 = 3;

/// A port for a node's Erlang distribution listener, from the kernel's client port range,
/// where [`free_addr`] never picks: the node never takes a port handed to a platform.
fn client_range_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no loopback port for a RabbitMQ node: {e}"))
}

/// A `redis-server` of our own with AOF on, restartable on the same port and data.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one on a free port and waits until it answers PING.
    pub fn start() -> Self {
        let mut redis = Self {
            port: free_addr().port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.spawn();
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--appendonly", "yes"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (tests/services.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "the private redis-server on {} did not come up in 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data (its AOF), and waits until it answers.
    pub fn restart(&mut self) {
        self.kill_9();
        self.spawn();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// A RabbitMQ node of our own (`abaco-test-<rand>@localhost`), restartable on the same ports
/// and data (its Mnesia directory and message store), without plugins and so without the
/// management listener.
#[derive(Debug)]
pub struct PrivateRabbit {
    node: String,
    port: u16,
    dist_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// A RabbitMQ script, preferring the package's real scripts to the Debian wrappers in
/// `/usr/sbin`, which switch to the `rabbitmq` user and drop the environment we set.
fn rabbit_script(name: &str) -> PathBuf {
    let real = Path::new("/usr/lib/rabbitmq/bin").join(name);
    if real.exists() {
        real
    } else {
        PathBuf::from(name)
    }
}

impl PrivateRabbit {
    /// Starts a node and waits until it has booted.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // No plugins: the management plugin (and its listener on 15672) stays off.
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(dir.path().join("rabbitmq.conf"), "").unwrap();
        // An empty env file in place of /etc/rabbitmq/rabbitmq-env.conf.
        std::fs::write(dir.path().join("rabbitmq-env.conf"), "").unwrap();
        let mut rabbit = Self {
            node: String::new(),
            port: 0,
            dist_port: 0,
            dir,
            child: None,
        };
        // Another test may still take a picked port before the node binds it; the node then
        // exits at boot, and a fresh name and ports are tried.
        for attempt in 1..=BOOT_ATTEMPTS {
            rabbit.node = format!("abaco-test-{}@localhost", rand::random::<u32>());
            rabbit.port = free_addr().port();
            rabbit.dist_port = client_range_port();
            match rabbit.spawn() {
                Ok(()) => return rabbit,
                Err(exited) if attempt < BOOT_ATTEMPTS => eprintln!("{exited}; trying again"),
                Err(exited) => panic!("{exited}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// The node's name, for `rabbitmqctl -n`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// `rabbitmqctl` aimed at this node, quiet, with no input.
    fn rabbitmqctl(&self) -> Command {
        let mut ctl = Command::new(rabbit_script("rabbitmqctl"));
        self.with_env(&mut ctl);
        ctl.args(["-q", "-n", &self.node]).stdin(Stdio::null());
        ctl
    }

    fn with_env(&self, command: &mut Command) {
        let dir = self.dir.path();
        command
            // The Erlang cookie is made in (and read from) $HOME: ours, shared by server and
            // CLI, leaves the system's nodes and cookies alone.
            .env("HOME", dir)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"));
    }

    /// Starts the node and waits until it has booted; an error says it exited during boot.
    fn spawn(&mut self) -> Result<(), String> {
        let _ = std::fs::remove_file(self.dir.path().join("pid"));
        let mut command = Command::new(rabbit_script("rabbitmq-server"));
        self.with_env(&mut command);
        let output = std::fs::File::create(self.dir.path().join("log/server.out")).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .expect("rabbitmq-server must be installed (tests/services.sh installs it)");
        self.child = Some(child);
        self.await_startup()
    }

    /// Waits (at most 90 s) until the node has booted: `rabbitmqctl await_startup` fails at
    /// once while the node is not yet registered with epmd, so it is retried.
    fn await_startup(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let booted = self
                .rabbitmqctl()
                .args(["await_startup", "--timeout", "30"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if booted && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let out = std::fs::read_to_string(self.dir.path().join("log/server.out"))
                    .unwrap_or_default();
                let last: Vec<&str> = out.lines().rev().take(5).collect();
                return Err(format!(
                    "the private RabbitMQ node {} on port {} exited during boot ({status}), \
                     its output ending:\n{}",
                    self.node,
                    self.port,
                    last.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
            assert!(
                Instant::now() < deadline,
                "the private RabbitMQ node {} did not boot in 90 s",
                self.node
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Kills the node's Erlang VM with SIGKILL, as a crash would (durable queues and
    /// persistent messages survive in its data directory).
    pub fn kill_9(&mut self) {
        // The server script runs the VM as a child process; the pid file names the VM.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid"))
            && let Ok(pid) = pid.trim().parse::<u32>()
        {
            kill_9(pid);
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The VM's port helpers (erl_child_setup, inet_gethost) go with it; give the
        // listeners a moment to close before the next start binds the same ports.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills it and starts it again on the same ports and data, then waits until it booted.
    pub fn restart(&mut self) {
        self.kill_9();
        if let Err(exited) = self.spawn() {
            panic!("{exited}");
        }
    }

    /// Empties `queue` behind the platform's back, as a broker that lost its messages would.
    pub fn purge_queue(&self, queue: &str) {
        let out = self
            .rabbitmqctl()
            .args(["purge_queue", queue])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rabbitmqctl purge_queue {queue}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The node's queues, channels and consumers as `rabbitmqctl` lists them: where a failed
    /// test's messages were when it gave up.
    fn state(&self) -> String {
        let lists: [&[&str]; 3] = [
            &[
                "list_queues",
                "name",
                "messages_ready",
                "messages_unacknowledged",
                "consumers",
            ],
            &[
                "list_channels",
                "pid",
                "connection",
                "consumer_count",
                "messages_unacknowledged",
                "prefetch_count",
            ],
            &[
                "list_consumers",
                "queue_name",
                "channel_pid",
                "consumer_tag",
                "prefetch_count",
            ],
        ];
        let mut state = String::new();
        for list in lists {
            let listed = self
                .rabbitmqctl()
                .args(["--timeout", "10"])
                .args(list)
                .output();
            state.push_str(&format!("$ rabbitmqctl {}\n", list.join(" ")));
            match listed {
                Ok(out) => {
                    state.push_str(&String::from_utf8_lossy(&out.stdout));
                    state.push_str(&String::from_utf8_lossy(&out.stderr));
                }
                Err(e) => state.push_str(&format!("not run: {e}\n")),
            }
        }
        state
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the private RabbitMQ node {}:\n{}", self.node, self.state());
        }
        self.kill_9();
    }
}
