//! compose/docker-compose.yml brought up for real, as its own project on the engine: every
//! service from the base image compose/images.sh builds without a registry, the abaco image
//! from the workspace's debug binaries, the gateway published on a free loopback port. Taken
//! down with its volumes when dropped.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::platform::{JWT_SECRET, free_addr};

/// The base image compose/images.sh builds (and tests/run.sh runs it).
pub const BASE_IMAGE: &str = "abaco/compose-base:bookworm";

/// A running compose project.
#[derive(Debug)]
pub struct ComposeProject {
    /// Where the gateway is published.
    pub http_addr: SocketAddr,
    name: String,
    runs_dir: tempfile::TempDir,
    /// Compose profiles started besides the default services.
    profiles: Vec<String>,
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl ComposeProject {
    /// Builds the abaco image and starts every service, detached. Panics with compose's own
    /// words if it cannot.
    pub fn up() -> Self {
        Self::up_with(&[])
    }

    /// As [`ComposeProject::up`], with the services of these profiles too (e.g.
    /// `second-host`).
    pub fn up_with(profiles: &[&str]) -> Self {
        let image_present = Command::new("docker")
            .args(["image", "inspect", BASE_IMAGE])
            .output()
            .is_ok_and(|output| output.status.success());
        assert!(
            image_present,
            "{BASE_IMAGE} is missing: run `bash compose/images.sh` (tests/run.sh does)"
        );
        let project = Self {
            http_addr: free_addr(),
            name: format!("abacotest{}", std::process::id()),
            // Under /var/tmp, not a tmpfs: the engine bind-mounts run sockets from here.
            runs_dir: tempfile::Builder::new()
                .prefix("abaco-compose-runs")
                .tempdir_in("/var/tmp")
                .unwrap(),
            profiles: profiles.iter().map(|p| (*p).to_string()).collect(),
        };
        let output = project.compose(&["up", "-d", "--build"]);
        assert!(
            output.status.success(),
            "docker-compose up: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        project
    }

    /// Runs `docker-compose` on this project with the test's settings in its environment.
    pub fn compose(&self, args: &[&str]) -> Output {
        let root = repository();
        let mut command = Command::new("docker-compose");
        command
            .current_dir(&root)
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(root.join("compose/docker-compose.yml"));
        for profile in &self.profiles {
            command.arg("--profile").arg(profile);
        }
        command
            .args(args)
            .env("ABACO_JWT_HS256_SECRET", JWT_SECRET)
            .env(
                "ABACO_INTERNAL_TOKEN",
                "compose-test-internal-token-0123456789",
            )
            .env("ABACO_CONFIGS_KEY", "compose-test-configs-key-0123456789")
            .env("DEPLOY_BASE_IMAGE", BASE_IMAGE)
            .env("DEPLOY_REDIS_IMAGE", BASE_IMAGE)
            .env("DEPLOY_RABBITMQ_IMAGE", BASE_IMAGE)
            .env("DEPLOY_IMAGE", format!("abaco/compose-test:{}", self.name))
            .env("DEPLOY_BIN_DIR", "target/debug")
            .env("DEPLOY_HTTP_PORT", self.http_addr.port().to_string())
            .env("DEPLOY_RUNS_DIR", self.runs_dir.path())
            .env("ABACO_NAMESPACE", &self.name)
            .output()
            .expect("docker-compose (Debian's docker-compose package) is needed")
    }

    /// The last `lines` lines each service logged, for a failing test's message.
    pub fn logs(&self, lines: usize) -> String {
        let output = self.compose(&["logs", "--no-color", "--tail", &lines.to_string()]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The container of `service` (compose names the first one `<project>_<service>_1`).
    pub fn container(&self, service: &str) -> String {
        format!("{}_{service}_1", self.name)
    }

    /// Where run sockets are made (mounted into the spawner at the same path).
    pub fn runs_dir(&self) -> &Path {
        self.runs_dir.path()
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the compose services' logs:\n{}", self.logs(40));
        }
        let _ = self.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "5"]);
        // Actor containers run on the host's engine, outside the project: a run the test left
        // behind is removed by its namespace label.
        let listed = Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=org.abaco.namespace={}", self.name))
            .output();
        if let Ok(listed) = listed {
            let ids = String::from_utf8_lossy(&listed.stdout).into_owned();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .args(["rm", "-f"])
                    .args(&ids)
                    .output();
            }
        }
        let _ = Command::new("docker")
            .args([
                "image",
                "rm",
                "-f",
                &format!("abaco/compose-test:{}", self.name),
            ])
            .output();
    }
}
