//! How a spawner starts a worker: as a process of its own ([`ProcessLauncher`], the
//! distributed setup) or as a task of the spawner's process (inside `abaco up`, whose embedded
//! store only that process can open).

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use abaco::{
    AbacoError, Result, pb,
    records::{Records, child_key},
    store::Table,
};
use async_trait::async_trait;

/// Starts and kills workers on this host.
#[async_trait]
pub trait Launcher: Send + Sync + std::fmt::Debug + 'static {
    /// Starts the worker whose record `worker` already exists in the store.
    async fn launch(&self, worker: &pb::Worker) -> Result<()>;

    /// Ends a worker at once; whether it was running here.
    async fn kill(&self, worker_id: &str) -> Result<bool>;

    /// Asks a worker to stop once its run in progress ends (it then removes its own record);
    /// whether it was running here.
    async fn terminate(&self, worker_id: &str) -> Result<bool>;

    /// How many workers run here now.
    fn running(&self) -> u32;
}

/// Runs each worker as `<program> --actor-id A --worker-id W` (the program being
/// `abaco-worker`, or `abaco worker`), a child process with the environment it needs to reach
/// the store and the broker, and without the secrets that sign users' tokens.
#[derive(Clone)]
pub struct ProcessLauncher {
    records: Records,
    program: WorkerProgram,
    env: Vec<(String, String)>,
    children: Arc<Mutex<HashMap<String, u32>>>,
}

/// The program that runs one worker, and the arguments that come before the worker's own.
#[derive(Debug, Clone)]
pub struct WorkerProgram {
    /// The executable.
    pub path: PathBuf,
    /// Arguments before `--actor-id`: `["worker"]` for the `abaco` binary, none for
    /// `abaco-worker`.
    pub leading_args: Vec<String>,
}

impl WorkerProgram {
    /// `abaco-worker` beside `abaco` (`binary`) when it is there: a program with the worker
    /// alone, so each worker maps less code. Otherwise `abaco worker`.
    pub fn beside(binary: PathBuf) -> Self {
        let slim = binary.with_file_name("abaco-worker");
        if slim.is_file() {
            Self {
                path: slim,
                leading_args: Vec::new(),
            }
        } else {
            Self {
                path: binary,
                leading_args: vec!["worker".to_string()],
            }
        }
    }
}

impl std::fmt::Debug for ProcessLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment holds credentials: names only.
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ProcessLauncher")
            .field("program", &self.program)
            .field("env", &names)
            .finish_non_exhaustive()
    }
}

/// Whether an inherited environment variable holds a key a worker (code on a Docker host)
/// is never given: one that signs users' tokens, or the one that signs webhook events.
fn withheld(name: &str) -> bool {
    name.starts_with("ABACO_")
        && (name.ends_with("JWT_HS256_SECRET") || name == "ABACO_WEBHOOK_SECRET")
}

impl ProcessLauncher {
    /// Launches `program` with `env` added to this process's environment; a worker process
    /// that ends takes its record in `records` with it.
    pub fn new(records: Records, program: WorkerProgram, env: Vec<(String, String)>) -> Self {
        Self {
            records,
            program,
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
        let mut command = tokio::process::Command::new(&self.program.path);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(withheld) {
                command.env_remove(&name);
            }
        }
        let mut child = command
            .args(&self.program.leading_args)
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
        let records = self.records.clone();
        let worker_id = worker.id.clone();
        let key = child_key(&worker.actor_id, &worker.id);
        // Reap the child so it never lingers as a zombie, and forget it once it is gone. A
        // worker that died without clearing its record is cleared here, so health checks
        // replace it on their next pass instead of waiting for its heartbeat to age.
        tokio::spawn(async move {
            let status = child.wait().await;
            tracing::info!(worker = %worker_id, ?status, "worker process ended");
            children
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&worker_id);
            if let Err(error) = records.delete(Table::Workers, &key).await {
                tracing::warn!(worker = %worker_id, %error, "could not clear the record of an ended worker");
            }
        });
        Ok(())
    }

    async fn kill(&self, worker_id: &str) -> Result<bool> {
        self.signal(worker_id, "-KILL").await
    }

    async fn terminate(&self, worker_id: &str) -> Result<bool> {
        // A worker takes SIGTERM as a graceful stop: the run in progress finishes.
        self.signal(worker_id, "-TERM").await
    }

    fn running(&self) -> u32 {
        u32::try_from(self.children().len()).unwrap_or(u32::MAX)
    }
}

impl ProcessLauncher {
    /// Sends `signal` to the worker's process; whether it is a child of this spawner.
    async fn signal(&self, worker_id: &str, signal: &str) -> Result<bool> {
        let Some(pid) = self.children().get(worker_id).copied() else {
            return Ok(false);
        };
        let status = tokio::process::Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .await
            .map_err(|e| AbacoError::internal(format!("kill {signal} {pid}: {e}")))?;
        Ok(status.success())
    }
}

/// Runs each worker as a task of this process (inside `abaco up`).
#[derive(Debug, Clone)]
pub struct TaskLauncher {
    host: abaco_worker::WorkerHost,
    tasks: Arc<Mutex<HashMap<String, WorkerTask>>>,
    shutdown: tokio_util::sync::CancellationToken,
}

/// A worker running as a task: abort it to kill it, cancel its token to stop it gracefully.
#[derive(Debug)]
struct WorkerTask {
    abort: tokio::task::AbortHandle,
    stop: tokio_util::sync::CancellationToken,
}

impl TaskLauncher {
    /// Launches workers over `host`; `shutdown` stops them all gracefully.
    pub fn new(
        host: abaco_worker::WorkerHost,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            host,
            tasks: Arc::default(),
            shutdown,
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, WorkerTask>> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Launcher for TaskLauncher {
    async fn launch(&self, worker: &pb::Worker) -> Result<()> {
        let host = self.host.clone();
        let tasks = self.tasks.clone();
        let stop = self.shutdown.child_token();
        let (actor_id, worker_id) = (worker.actor_id.clone(), worker.id.clone());
        let mut registry = self.tasks();
        let worker_stop = stop.clone();
        let task = tokio::spawn(async move {
            if let Err(error) = host.run(&actor_id, &worker_id, worker_stop).await {
                tracing::warn!(worker = %worker_id, %error, "worker ended with an error");
            }
            tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&worker_id);
        });
        // Registered under the lock the task's own removal takes, so a worker that ends at
        // once is never left behind in the map.
        registry.insert(
            worker.id.clone(),
            WorkerTask {
                abort: task.abort_handle(),
                stop,
            },
        );
        Ok(())
    }

    async fn kill(&self, worker_id: &str) -> Result<bool> {
        let Some(task) = self.tasks().remove(worker_id) else {
            return Ok(false);
        };
        // Dropping the run gives its unacked message back and removes its container.
        task.abort.abort();
        Ok(true)
    }

    async fn terminate(&self, worker_id: &str) -> Result<bool> {
        let tasks = self.tasks();
        let Some(task) = tasks.get(worker_id) else {
            return Ok(false);
        };
        task.stop.cancel();
        Ok(true)
    }

    fn running(&self) -> u32 {
        u32::try_from(self.tasks().len()).unwrap_or(u32::MAX)
    }
}
