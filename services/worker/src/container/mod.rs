//! Runs one actor container on Docker: create, start, feed, watch, collect, remove.
//!
//! Every run gets its own host directory with the results socket and, for binary messages,
//! the FIFO (see [`io`]). The container is always removed at the end, on error paths too.

mod exit_state;
mod follow;
mod holder;
mod hot;
mod io;
mod logs;
mod orphans;
mod pull;
mod sandbox;
mod stats;

use std::{collections::HashMap, path::PathBuf, pin::pin, time::Duration};

use bollard::{
    Docker,
    errors::Error as DockerError,
    models::ContainerCreateBody,
    query_parameters::{
        CreateContainerOptionsBuilder, KillContainerOptions, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder, StatsOptionsBuilder,
    },
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span};

pub use holder::{HOLDER_IMAGE, LABEL_ROLE, NetworkHolder};
pub use hot::{DONE_KEY, HOT_ENV, Handed, HotContainer, HotMessage};
pub use io::{BINARY_FIFO, RESULTS_SOCKET};
pub use pull::{AuthFileError, PullError, RegistryAuth, registry_of};
pub use sandbox::{DOCKER_SOCKET, Sandbox};
pub use stats::Usage;

use exit_state::{KILLED_EXIT_CODE, final_state, parse_docker_time};
use io::RunDir;
use logs::CappedLog;

/// Label naming the platform (its namespace) a container belongs to.
pub const LABEL_NAMESPACE: &str = "org.abaco.namespace";
/// Label naming the platform installation (its store's instance id), so that two platforms
/// under the same namespace on one engine never take each other's containers for orphans.
pub const LABEL_INSTANCE: &str = "org.abaco.instance";
/// Label naming the actor a container runs for.
pub const LABEL_ACTOR: &str = "org.abaco.actor";
/// Label naming the worker that started a container.
pub const LABEL_WORKER: &str = "org.abaco.worker";
/// Label naming the execution a container runs.
pub const LABEL_EXECUTION: &str = "org.abaco.execution";

/// How long a killed container may take to be reported stopped, unless set.
const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(10);
/// How long a run ended by SIGKILL waits for Docker's late OOM report, unless set.
const DEFAULT_OOM_REPORT_WAIT: Duration = Duration::from_secs(1);
/// Pause before a broken stats stream is opened again, unless set.
const DEFAULT_STATS_RETRY: Duration = Duration::from_secs(1);
/// How long following a run looks for its container, unless set.
const DEFAULT_FOLLOW_FIND: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// The container's name; Docker makes one up without it.
    pub name: Option<String>,
    /// Image reference; it must already be on the host (see [`DockerRunner::pull`]).
    pub image: String,
    /// Environment variables, in order; a later duplicate wins.
    pub env: Vec<(String, String)>,
    /// Container labels (the worker sets actor, worker and execution).
    pub labels: HashMap<String, String>,
    /// Memory limit in bytes.
    pub mem_limit: Option<u64>,
    /// CPU limit in 1e-9 CPUs.
    pub nano_cpus: Option<u64>,
    /// Bytes for the binary message FIFO; `None` mounts no FIFO.
    pub binary_input: Option<Bytes>,
    /// The container is killed after this long.
    pub max_run_time: Option<Duration>,
    /// Most log bytes kept; more are cut with a notice line.
    pub log_cap: usize,
    /// Most result bytes kept, over all datagrams; later datagrams are dropped with a notice
    /// line in the log.
    pub results_cap: usize,
    /// Run privileged, with the host's Docker socket (privileged actors only).
    pub privileged: bool,
    /// `uid[:gid]` to run as; `None` keeps the image's `USER`.
    pub user: Option<String>,
    /// Administrator-configured binds (`host:container:mode`), besides the run directory.
    pub mounts: Vec<String>,
    /// A running container whose network namespace the run joins (its worker's
    /// [`NetworkHolder`]); `None` gives the run a namespace of its own on the sandbox's
    /// network.
    pub network_of: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    /// The container's process exited by itself.
    Exited,
    /// Killed on request.
    ForceQuit,
    /// Killed at `max_run_time`.
    TimedOut,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Docker's id of the (now removed) container.
    pub container_id: String,
    /// The exit code, when Docker reported one.
    pub exit_code: Option<i64>,
    /// When the process started, by Docker's clock.
    pub start_time: DateTime<Utc>,
    /// When the process ended, by Docker's clock.
    pub finish_time: DateTime<Utc>,
    /// `finish_time - start_time` in milliseconds.
    pub runtime_ms: u64,
    /// CPU time in nanoseconds (0 when the run ended before any stats sample).
    pub cpu_ns: u64,
    /// Block plus network bytes (0 when the run ended before any stats sample).
    pub io_bytes: u64,
    /// stdout and stderr, capped.
    pub logs: String,
    /// Datagrams from the results socket, capped.
    pub results: Vec<Bytes>,
    /// Why the container stopped.
    pub ended_by: EndedBy,
    /// The kernel killed it for going over its memory limit.
    pub oom_killed: bool,
    /// Docker's final `State` of the container, as JSON text (abaco's `finalState`).
    pub final_state: String,
    /// Set when the run failed in a way that ends its execution ERROR: why.
    pub error: Option<String>,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The image is not on this Docker host.
    #[error("image {image} is not available on this Docker host: {message}")]
    ImageNotFound {
        /// The image asked for.
        image: String,
        /// Docker's words.
        message: String,
    },
    /// Docker refused or failed a call.
    #[error("docker: {0}")]
    Docker(#[from] DockerError),
    /// The run's host directory, socket or FIFO could not be made.
    #[error("run directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs containers on the local Docker engine.
#[derive(Debug, Clone)]
pub struct DockerRunner {
    docker: Docker,
    work_dir: PathBuf,
    sandbox: Sandbox,
    registries: RegistryAuth,
    oom_report_wait: Duration,
    kill_grace: Duration,
    stats_retry: Duration,
    follow_find: Duration,
}

impl DockerRunner {
    /// Connects to the local engine and settles the API version with it (engines may be
    /// older than the client).
    pub async fn connect() -> Result<Self, RunError> {
        let docker = Docker::connect_with_local_defaults()?
            .negotiate_version()
            .await?;
        Ok(Self {
            docker,
            work_dir: std::env::temp_dir(),
            sandbox: Sandbox::default(),
            registries: RegistryAuth::default(),
            oom_report_wait: DEFAULT_OOM_REPORT_WAIT,
            kill_grace: DEFAULT_KILL_GRACE,
            stats_retry: DEFAULT_STATS_RETRY,
            follow_find: DEFAULT_FOLLOW_FIND,
        })
    }

    /// Confines runs as `sandbox` says.
    pub fn with_sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Pulls with these registry credentials.
    pub fn with_registries(mut self, registries: RegistryAuth) -> Self {
        self.registries = registries;
        self
    }

    /// Waits up to `wait` for Docker's late report that a run ending with SIGKILL's exit
    /// code was killed for memory (Docker may report it after the exit); zero trusts the
    /// state read at exit.
    pub fn with_oom_report_wait(mut self, wait: Duration) -> Self {
        self.oom_report_wait = wait;
        self
    }

    /// Gives a container killed for a force-quit or its time limit `grace` to be reported
    /// stopped before the run goes on without that report.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Pauses `retry` before opening a run's broken stats stream again.
    pub fn with_stats_retry(mut self, retry: Duration) -> Self {
        self.stats_retry = retry.max(Duration::from_millis(1));
        self
    }

    /// Gives following a claimed run `find` to see its container made and started.
    pub fn with_follow_find(mut self, find: Duration) -> Self {
        self.follow_find = find;
        self
    }

    /// Puts per-run directories under `dir` instead of the system temp dir. The Docker engine
    /// must see the same path, so it has to be on the engine's host.
    pub fn with_work_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.work_dir = dir.into();
        self
    }

    /// The underlying client, for callers that need more than running.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Whether `image` is on this host.
    pub async fn image_exists(&self, image: &str) -> Result<bool, RunError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Runs one container to its end, a force-quit (`cancel`) or its time limit, and
    /// removes it.
    pub async fn run(
        &self,
        spec: RunSpec,
        cancel: CancellationToken,
    ) -> Result<RunOutcome, RunError> {
        let mut run_dir = RunDir::create(&self.work_dir, spec.binary_input.is_some()).await?;
        let asked = std::time::Instant::now();
        let container_id = self
            .create(&spec, self.body_of(&spec, &run_dir))
            .instrument(info_span!("docker.create", image = %spec.image))
            .await?;
        let guard = RemoveOnDrop::new(self.docker.clone(), container_id.clone());
        let result = self
            .run_created(&container_id, spec, &mut run_dir, cancel, asked)
            .await;
        guard.disarm();
        self.remove(&container_id)
            .instrument(info_span!("docker.remove"))
            .await;
        result
    }

    /// What Docker is asked to create for `spec`, with `run_dir` mounted.
    fn body_of(&self, spec: &RunSpec, run_dir: &RunDir) -> ContainerCreateBody {
        ContainerCreateBody {
            image: Some(spec.image.clone()),
            user: spec.user.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.clone()),
            tty: Some(false),
            open_stdin: Some(false),
            host_config: Some(self.sandbox.host_config(spec, run_dir.binds())),
            ..Default::default()
        }
    }

    /// Creates the container `body` describes, named as `spec` says; its id.
    async fn create(&self, spec: &RunSpec, body: ContainerCreateBody) -> Result<String, RunError> {
        let options = spec
            .name
            .as_deref()
            .map(|name| CreateContainerOptionsBuilder::default().name(name).build());
        match self.docker.create_container(options, body).await {
            Ok(created) => Ok(created.id),
            Err(DockerError::DockerResponseServerError {
                status_code: 404,
                message,
            }) => Err(RunError::ImageNotFound {
                image: spec.image.clone(),
                message,
            }),
            Err(error) => Err(error.into()),
        }
    }

    async fn run_created(
        &self,
        id: &str,
        spec: RunSpec,
        run_dir: &mut RunDir,
        cancel: CancellationToken,
        asked: std::time::Instant,
    ) -> Result<RunOutcome, RunError> {
        let results_done = CancellationToken::new();
        let results = run_dir.take_socket().map(|socket| {
            Task::spawn(io::collect_results(
                socket,
                spec.results_cap,
                results_done.clone(),
            ))
        });
        let local_start = Utc::now();
        self.docker
            .start_container(id, None)
            .instrument(info_span!("docker.start"))
            .await?;
        metrics::histogram!(abaco::metrics::CONTAINER_START).record(asked.elapsed());

        let _fifo = match (run_dir.fifo(), spec.binary_input.clone()) {
            (Some(path), Some(data)) => Some(Task::spawn(io::feed_fifo(path.to_path_buf(), data))),
            _ => None,
        };
        let (usage_tx, usage_rx) = watch::channel(Usage::default());
        let stats = Task::spawn(sample_stats(
            self.docker.clone(),
            id.to_string(),
            usage_tx,
            self.stats_retry,
        ));

        let ended_by = self
            .wait(id, &cancel, spec.max_run_time)
            .instrument(info_span!("docker.wait"))
            .await?;
        let local_finish = Utc::now();
        drop(stats);
        let usage = *usage_rx.borrow();

        let state = self
            .docker
            .inspect_container(id, None)
            .instrument(info_span!("docker.inspect"))
            .await?
            .state;
        let exit_code = state.as_ref().and_then(|s| s.exit_code);
        let mut oom_killed = state.as_ref().and_then(|s| s.oom_killed).unwrap_or(false);
        let final_state = state.as_ref().map(final_state).unwrap_or_default();
        let docker_time = |text: Option<&String>| text.and_then(|t| parse_docker_time(t));
        let start_time =
            docker_time(state.as_ref().and_then(|s| s.started_at.as_ref())).unwrap_or(local_start);
        let finish_time = docker_time(state.as_ref().and_then(|s| s.finished_at.as_ref()))
            .filter(|finish| *finish >= start_time)
            .unwrap_or(local_finish);
        if !oom_killed && ended_by == EndedBy::Exited && exit_code == Some(KILLED_EXIT_CODE) {
            oom_killed = self
                .oom_event_reported(id, start_time)
                .instrument(info_span!("docker.oom_events"))
                .await;
        }

        results_done.cancel();
        let collected = match results {
            Some(task) => task.finish().await.unwrap_or_default(),
            None => io::Collected::default(),
        };
        let mut logs = match self
            .logs(id, spec.log_cap)
            .instrument(info_span!("docker.logs"))
            .await
        {
            Ok(logs) => logs,
            Err(error) => format!("[abaco: logs unavailable: {error}]\n"),
        };
        if collected.dropped_bytes > 0 {
            logs.push_str(&format!(
                "[abaco: results truncated at {} bytes; {} bytes dropped]\n",
                spec.results_cap, collected.dropped_bytes
            ));
        }
        Ok(RunOutcome {
            container_id: id.to_string(),
            exit_code,
            start_time,
            finish_time,
            runtime_ms: u64::try_from((finish_time - start_time).num_milliseconds()).unwrap_or(0),
            cpu_ns: usage.cpu_ns,
            io_bytes: usage.io_bytes,
            logs,
            results: collected.datagrams,
            ended_by,
            oom_killed,
            final_state,
            error: None,
        })
    }

    /// Waits for the container to stop, killing it on cancel or at the deadline.
    async fn wait(
        &self,
        id: &str,
        cancel: &CancellationToken,
        max_run_time: Option<Duration>,
    ) -> Result<EndedBy, RunError> {
        let deadline = async {
            match max_run_time {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let mut exited = pin!(self.wait_exit(id));
        let ended_by = tokio::select! {
            result = &mut exited => {
                result?;
                return Ok(EndedBy::Exited);
            }
            () = cancel.cancelled() => EndedBy::ForceQuit,
            () = deadline => EndedBy::TimedOut,
        };
        match self
            .docker
            .kill_container(id, None::<KillContainerOptions>)
            .await
        {
            // 409: it stopped by itself in the meantime.
            Ok(())
            | Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => {}
            Err(error) => return Err(error.into()),
        }
        match tokio::time::timeout(self.kill_grace, exited).await {
            Ok(result) => result?,
            Err(_) => tracing::warn!(container = id, "killed container did not report stopping"),
        }
        Ok(ended_by)
    }

    /// Resolves once the container is not running.
    async fn wait_exit(&self, id: &str) -> Result<(), RunError> {
        loop {
            match self.docker.wait_container(id, None).next().await {
                // bollard reports a non-zero exit as an error; the code is read by inspect.
                None | Some(Ok(_)) | Some(Err(DockerError::DockerContainerWaitError { .. })) => {
                    return Ok(());
                }
                // The client's request timeout, not the container's: wait again.
                Some(Err(DockerError::RequestTimeoutError)) => continue,
                Some(Err(error)) => return Err(error.into()),
            }
        }
    }

    async fn logs(&self, id: &str, cap: usize) -> Result<String, RunError> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(false)
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let mut log = CappedLog::new(cap);
        while let Some(chunk) = stream.next().await {
            if !log.push(&chunk?.into_bytes()) {
                break;
            }
        }
        Ok(log.finish())
    }

    async fn remove(&self, id: &str) {
        if let Err(error) = remove_container(&self.docker, id).await {
            tracing::warn!(container = id, %error, "could not remove container");
        }
    }
}

async fn remove_container(docker: &Docker, id: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        other => other,
    }
}

/// Keeps the latest usage figures: a one-shot sample at once (short runs may end before a
/// stream yields), then the stream, reopened if the client's request timeout cuts it.
async fn sample_stats(docker: Docker, id: String, usage: watch::Sender<Usage>, retry: Duration) {
    let record = |sample: &bollard::models::ContainerStatsResponse| {
        let fresh = Usage::from_sample(sample);
        usage.send_modify(|current| *current = current.merge(fresh));
    };
    let once = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(true)
        .build();
    if let Some(Ok(sample)) = docker.stats(&id, Some(once)).next().await {
        record(&sample);
    }
    loop {
        let options = StatsOptionsBuilder::default().stream(true).build();
        let mut stream = docker.stats(&id, Some(options));
        while let Some(Ok(sample)) = stream.next().await {
            record(&sample);
        }
        tokio::time::sleep(retry).await;
    }
}

/// A spawned task that is aborted if it is dropped before it finishes.
#[derive(Debug)]
struct Task<T>(JoinHandle<T>);

impl<T: Send + 'static> Task<T> {
    fn spawn(future: impl Future<Output = T> + Send + 'static) -> Self {
        Self(tokio::spawn(future))
    }

    /// Its result; `None` if it panicked or was aborted.
    async fn finish(mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Removes the container if the run future is dropped half-way (its caller went away), so
/// that no container outlives its run even then.
#[derive(Debug)]
struct RemoveOnDrop {
    docker: Docker,
    id: Option<String>,
}

impl RemoveOnDrop {
    fn new(docker: Docker, id: String) -> Self {
        Self {
            docker,
            id: Some(id),
        }
    }

    fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let docker = self.docker.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = remove_container(&docker, &id).await {
                    tracing::warn!(container = id, %error, "could not remove abandoned container");
                }
            });
        }
    }
}
