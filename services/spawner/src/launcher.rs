//! How a spawner starts a worker: as a process of its own ([`ProcessLauncher`], the
//! distributed setup) or as a task of the spawner's process (inside `abaco up`, whose embedded
//! store only that process can open).

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use abaco::{AbacoError, Result, pb};
use async_trait::async_trait;

/// Starts and kills workers on this host.
#[async_trait]
pub trait Launcher: Send + Sync + std::fmt::Debug + 'static {
    /// Starts the worker whose record `worker` already exists in the store.
    async fn launch(&self, worker: &pb::Worker) -> Result<()>;

    /// Ends a worker at once; whether it was running here.
    async fn kill(&self, worker_id: &str) -> Result<bool>;

    /// How many workers run here now.
    fn running(&self) -> u32;
}

/// Runs each worker as `abaco worker --actor-id A --worker-id W`, a child process with the
/// environment it needs to reach the store and the broker.
#[derive(Debug, Clone)]
pub struct ProcessLauncher {
    binary: PathBuf,
    env: Vec<(String, String)>,
    children: Arc<Mutex<HashMap<String, u32>>>,
}

impl ProcessLauncher {
    /// Launches `binary` with `env` added to this process's environment.
    pub fn new(binary: PathBuf, env: Vec<(String, String)>) -> Self {
        Self {
            binary,
            env,
            children: Arc::default(),
        }
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        // A poisoned map only means another launch panicked mid-insert; the map is still valid.
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Launcher for ProcessLauncher {
    async fn launch(&self, worker: &pb::Worker) -> Result<()> {
        let mut child = tokio::process::Command::new(&self.binary)
            .arg("worker")
            .arg("--actor-id")
            .arg(&worker.actor_id)
            .arg("--worker-id")
            .arg(&worker.id)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| AbacoError::Unavailable(format!("cannot start a worker process: {e}")))?;
        let pid = child.id().unwrap_or_default();
        self.children().insert(worker.id.clone(), pid);
        let children = self.children.clone();
        let worker_id = worker.id.clone();
        // Reap the child so it never lingers as a zombie, and forget it once it is gone.
        tokio::spawn(async move {
            let status = child.wait().await;
            tracing::info!(worker = %worker_id, ?status, "worker process ended");
            children
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&worker_id);
        });
        Ok(())
    }

    async fn kill(&self, worker_id: &str) -> Result<bool> {
        let Some(pid) = self.children().get(worker_id).copied() else {
            return Ok(false);
        };
        let status = tokio::process::Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status()
            .await
            .map_err(|e| AbacoError::internal(format!("kill {pid}: {e}")))?;
        Ok(status.success())
    }

    fn running(&self) -> u32 {
        u32::try_from(self.children().len()).unwrap_or(u32::MAX)
    }
}
