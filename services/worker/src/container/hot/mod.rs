//! Hot containers: one container of an actor kept running by its worker and handed messages
//! one at a time through the hot protocol (see [`protocol`]), instead of a fresh container per
//! message. A container that ends, or is killed for a message's time limit or a force-quit,
//! is removed with that message, and the next message gets a fresh one.

mod protocol;

use std::{pin::Pin, time::Duration};

use bollard::{
    container::LogOutput,
    query_parameters::{AttachContainerOptionsBuilder, KillContainerOptions},
};
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use tokio::{io::AsyncWriteExt, net::UnixDatagram, sync::mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span};

pub use protocol::DONE_KEY;

use super::{
    DockerRunner, EndedBy, RemoveOnDrop, RunError, RunOutcome, RunSpec, Task,
    exit_state::final_state,
    io::{ResultsKeeper, RunDir},
    logs::CappedLog,
};

/// The environment variable that tells a container it is hot.
pub const HOT_ENV: &str = "_abaco_hot";

/// Output chunks the reader may hold before the container's writes wait for the worker.
const OUTPUT_BUFFER: usize = 1024;

/// What a hot container wrote.
#[derive(Debug)]
enum Output {
    /// Log bytes: a stdout line, or a stderr chunk.
    Log(Vec<u8>),
    /// The done line, with its exit code.
    Done(i64),
}

/// One message for a hot container.
#[derive(Debug, Clone)]
pub struct HotMessage {
    /// The execution it is.
    pub execution_id: String,
    /// The environment a fresh container of the message would get.
    pub env: Vec<(String, String)>,
    /// The bytes of a binary message.
    pub binary: Option<Bytes>,
    /// The container is killed (and replaced) after this long on the message.
    pub max_run_time: Option<Duration>,
    /// Most log bytes kept.
    pub log_cap: usize,
    /// Most result bytes kept.
    pub results_cap: usize,
}

/// What a message made of its hot container.
#[derive(Debug)]
pub struct Handed {
    /// The message's run.
    pub outcome: RunOutcome,
    /// The container can take the next message; when false it is gone or must go.
    pub reusable: bool,
}

/// A running hot container; remove it with [`HotContainer::remove`].
pub struct HotContainer {
    runner: DockerRunner,
    id: String,
    fingerprint: String,
    input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    output: mpsc::Receiver<Output>,
    results: UnixDatagram,
    _reader: Task<()>,
    _run_dir: RunDir,
    guard: Option<RemoveOnDrop>,
}

impl std::fmt::Debug for HotContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotContainer")
            .field("id", &self.id)
            .finish()
    }
}

impl DockerRunner {
    /// Starts a hot container of `spec` (its environment is the container's own, without any
    /// message), attached to its stdin, stdout and stderr. `fingerprint` is kept for the
    /// caller to tell whether a later spec would make the same container.
    pub async fn start_hot(
        &self,
        spec: &RunSpec,
        fingerprint: String,
    ) -> Result<HotContainer, RunError> {
        let mut run_dir = RunDir::create(&self.work_dir, false).await?;
        let results = run_dir
            .take_socket()
            .ok_or_else(|| RunError::Io(std::io::Error::other("results socket missing")))?;
        let mut body = self.body_of(spec, &run_dir);
        body.env
            .get_or_insert_with(Vec::new)
            .push(format!("{HOT_ENV}=1"));
        body.open_stdin = Some(true);
        body.stdin_once = Some(false);
        body.attach_stdin = Some(true);
        body.attach_stdout = Some(true);
        body.attach_stderr = Some(true);
        let id = self
            .create(spec, body)
            .instrument(info_span!("docker.create", image = %spec.image, hot = true))
            .await?;
        let guard = RemoveOnDrop::new(self.docker.clone(), id.clone());
        // Attached before the start, so that nothing the container writes is missed.
        let attach = AttachContainerOptionsBuilder::default()
            .stream(true)
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .build();
        let attached = self.docker.attach_container(&id, Some(attach)).await?;
        self.docker
            .start_container(&id, None)
            .instrument(info_span!("docker.start", hot = true))
            .await?;
        let (sender, output) = mpsc::channel(OUTPUT_BUFFER);
        tracing::info!(container = %id, image = %spec.image, "hot container started");
        Ok(HotContainer {
            runner: self.clone(),
            id,
            fingerprint,
            input: attached.input,
            output,
            results,
            _reader: Task::spawn(read_output(attached.output, sender)),
            _run_dir: run_dir,
            guard: Some(guard),
        })
    }
}

/// Turns the container's attached output into log chunks and done lines; ends when the
/// container's output does (it exited).
async fn read_output(
    mut output: Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    sender: mpsc::Sender<Output>,
) {
    let mut lines = protocol::Lines::default();
    while let Some(Ok(chunk)) = output.next().await {
        let outputs = match chunk {
            LogOutput::StdOut { message } => lines
                .push(&message)
                .into_iter()
                .map(|line| match protocol::done_code(&line) {
                    Some(code) => Output::Done(code),
                    None => Output::Log(line),
                })
                .collect(),
            LogOutput::StdErr { message } => vec![Output::Log(message.to_vec())],
            LogOutput::StdIn { .. } | LogOutput::Console { .. } => Vec::new(),
        };
        for output in outputs {
            if sender.send(output).await.is_err() {
                return;
            }
        }
    }
    let rest = lines.rest();
    if !rest.is_empty() {
        let _ = sender.send(Output::Log(rest)).await;
    }
}

/// How a message's turn ended.
enum Turn {
    Done(i64),
    /// The container's output ended: it exited.
    Exited,
    Killed(EndedBy),
}

impl HotContainer {
    /// Docker's id of the container.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the container has ended while it had no message (its output is over). What
    /// it wrote last belongs to no execution, so it goes to the worker's log; while it runs,
    /// what it wrote since its last message is left for the next one (see [`Self::hand`]).
    pub fn ended_idle(&mut self) -> bool {
        if !self.output.is_closed() {
            return false;
        }
        while let Ok(output) = self.output.try_recv() {
            if let Output::Log(bytes) = output {
                tracing::warn!(
                    container = %self.id,
                    output = %String::from_utf8_lossy(&bytes).trim_end(),
                    "hot container wrote this before it ended between messages"
                );
            }
        }
        true
    }

    /// What it was started from, as its starter described it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Hands `message` to the container and waits for its done line, the container's end,
    /// a force-quit (`cancel`) or the message's time limit.
    pub async fn hand(&mut self, message: HotMessage, cancel: CancellationToken) -> Handed {
        let start_time = Utc::now();
        let line =
            protocol::request_line(&message.execution_id, &message.env, message.binary.as_ref());
        let mut log = CappedLog::new(message.log_cap);
        let mut results = ResultsKeeper::new(message.results_cap);
        // Output since the last message's done line counts as this message's; a done line
        // with no message to end is the program's mistake and must not end this one.
        while let Ok(output) = self.output.try_recv() {
            match output {
                Output::Log(bytes) => {
                    log.push(&bytes);
                }
                Output::Done(code) => tracing::warn!(
                    container = %self.id,
                    code,
                    "hot container wrote a done line with no message in hand; ignored"
                ),
            }
        }
        let written = async {
            self.input.write_all(&line).await?;
            self.input.flush().await
        }
        .await;
        let turn = match written {
            Err(error) => {
                tracing::warn!(container = %self.id, %error, "hot container's stdin is closed");
                Turn::Exited
            }
            Ok(()) => {
                self.take_turn(&mut log, &mut results, &cancel, message.max_run_time)
                    .await
            }
        };
        let finish_time = Utc::now();
        results.drain(&self.results);
        let mut outcome = RunOutcome {
            container_id: self.id.clone(),
            exit_code: None,
            start_time,
            finish_time,
            runtime_ms: u64::try_from((finish_time - start_time).num_milliseconds()).unwrap_or(0),
            cpu_ns: 0,
            io_bytes: 0,
            logs: String::new(),
            results: Vec::new(),
            ended_by: EndedBy::Exited,
            oom_killed: false,
            final_state: String::new(),
            error: None,
        };
        let reusable = match turn {
            Turn::Done(code) => {
                outcome.exit_code = Some(code);
                outcome.final_state =
                    serde_json::json!({"Status": "running", "Hot": true, "ExitCode": code})
                        .to_string();
                true
            }
            Turn::Exited | Turn::Killed(_) => {
                if let Turn::Killed(by) = turn {
                    outcome.ended_by = by;
                    self.kill().await;
                }
                self.wait_gone(&mut log).await;
                let state = self.runner.docker.inspect_container(&self.id, None).await;
                let state = state.ok().and_then(|c| c.state);
                outcome.exit_code = state.as_ref().and_then(|s| s.exit_code);
                outcome.oom_killed = state.as_ref().and_then(|s| s.oom_killed).unwrap_or(false);
                outcome.final_state = state.as_ref().map(final_state).unwrap_or_default();
                outcome.error = match outcome.ended_by {
                    EndedBy::TimedOut => Some(
                        "timed out: the hot container was killed at the actor's maximum run time"
                            .to_string(),
                    ),
                    EndedBy::ForceQuit => None,
                    EndedBy::Exited => Some(format!(
                        "the hot container ended before it finished the message{}",
                        outcome
                            .exit_code
                            .map(|code| format!(" (exit code {code})"))
                            .unwrap_or_default()
                    )),
                };
                false
            }
        };
        let collected = results.finish();
        outcome.logs = log.finish();
        if collected.dropped_bytes > 0 {
            outcome.logs.push_str(&format!(
                "[abaco: results truncated at {} bytes; {} bytes dropped]\n",
                message.results_cap, collected.dropped_bytes
            ));
        }
        outcome.results = collected.datagrams;
        Handed { outcome, reusable }
    }

    async fn take_turn(
        &mut self,
        log: &mut CappedLog,
        results: &mut ResultsKeeper,
        cancel: &CancellationToken,
        max_run_time: Option<Duration>,
    ) -> Turn {
        let deadline = async {
            match max_run_time {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                output = self.output.recv() => match output {
                    Some(Output::Log(bytes)) => {
                        log.push(&bytes);
                    }
                    Some(Output::Done(code)) => return Turn::Done(code),
                    None => return Turn::Exited,
                },
                received = results.receive(&self.results) => if let Err(error) = received {
                    tracing::warn!(container = %self.id, %error, "results socket failed");
                },
                () = cancel.cancelled() => return Turn::Killed(EndedBy::ForceQuit),
                () = &mut deadline => return Turn::Killed(EndedBy::TimedOut),
            }
        }
    }

    async fn kill(&mut self) {
        let killed = self
            .runner
            .docker
            .kill_container(&self.id, None::<KillContainerOptions>)
            .await;
        if let Err(error) = killed {
            // Most likely it ended by itself meanwhile; waiting for its output to end tells.
            tracing::debug!(container = %self.id, %error, "could not kill hot container");
        }
    }

    /// Waits for the container's output to end, keeping what it wrote last.
    async fn wait_gone(&mut self, log: &mut CappedLog) {
        let rest = async {
            while let Some(output) = self.output.recv().await {
                if let Output::Log(bytes) = output {
                    log.push(&bytes);
                }
            }
        };
        let grace = self.runner.kill_grace;
        if tokio::time::timeout(grace, rest).await.is_err() {
            tracing::warn!(container = %self.id, "hot container did not report stopping");
            return;
        }
        // Its output ends as it exits; Docker records the exit code a moment later.
        let exited = tokio::time::timeout(grace, self.runner.wait_exit(&self.id)).await;
        if !matches!(exited, Ok(Ok(()))) {
            tracing::warn!(container = %self.id, "hot container's exit was not confirmed");
        }
    }

    /// Stops and removes the container.
    pub async fn remove(mut self) {
        if let Some(guard) = self.guard.take() {
            guard.disarm();
        }
        self.runner
            .remove(&self.id)
            .instrument(info_span!("docker.remove", hot = true))
            .await;
        tracing::info!(container = %self.id, "hot container removed");
    }
}
