//! A real image registry for the tests: Debian's `docker-registry` (distribution v2) on a
//! loopback port (the engine trusts 127.0.0.0/8 registries without TLS), open or behind
//! htpasswd basic auth, with its storage in a temporary directory. Killed when dropped.

use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::platform::free_addr;

/// A running registry.
#[derive(Debug)]
pub struct LocalRegistry {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    child: Child,
}

/// Runs `docker` with its client configuration (logins) in `config_dir`; its stdout, or a
/// panic with its stderr.
pub fn docker(config_dir: &Path, args: &[&str]) -> String {
    let output = Command::new("docker")
        .env("DOCKER_CONFIG", config_dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl LocalRegistry {
    /// Starts a registry; with `user` (name, password) it asks for them.
    pub fn start(user: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        if let Some((name, password)) = user {
            let htpasswd = Command::new("htpasswd")
                .args(["-Bbn", name, password])
                .output()
                .expect("htpasswd (apache2-utils) is needed for the registry tests");
            assert!(htpasswd.status.success());
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, htpasswd.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: abaco-tests\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's package) is needed for the registry tests");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { addr, dir, child }
    }

    /// A Docker client configuration directory logged in as `user` (or not at all).
    pub fn client_config(&self, user: Option<(&str, &str)>) -> tempfile::TempDir {
        let config = tempfile::tempdir().unwrap();
        if let Some((name, password)) = user {
            let host = self.addr.to_string();
            docker(config.path(), &["login", "-u", name, "-p", password, &host]);
        }
        config
    }

    /// Pushes the local image `local` to this registry as `name` (`repo:tag`), then removes
    /// that name from the engine, so the next use must pull; the full reference.
    pub fn push(&self, config_dir: &Path, local: &str, name: &str) -> String {
        let reference = format!("{}/{name}", self.addr);
        docker(config_dir, &["tag", local, &reference]);
        docker(config_dir, &["push", &reference]);
        docker(config_dir, &["rmi", &reference]);
        reference
    }

    /// A Docker `config.json` for the platform, with these credentials for this registry.
    pub fn auth_file(&self, name: &str, password: &str) -> std::path::PathBuf {
        use std::io::Write;
        let path = self
            .dir
            .path()
            .join(format!("platform-auth-{}.json", rand::random::<u32>()));
        let encoded = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{name}:{password}"),
        );
        let mut file = std::fs::File::create(&path).unwrap();
        write!(
            file,
            r#"{{"auths": {{"{}": {{"auth": "{encoded}"}}}}}}"#,
            self.addr
        )
        .unwrap();
        path
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
