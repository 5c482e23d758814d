//! `abaco send`, `abaco executions ls|get`, `abaco logs [--follow]`.

use std::{
    io::Read,
    time::{Duration, Instant},
};

use abaco_client::{Client, LogEvent, Message, Synchronous};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::{ClientArgs, VerbError, output};

/// `abaco send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The actor's id (or alias).
    actor: String,
    /// The message; `-` reads it from stdin. Empty when not given.
    message: Option<String>,
    /// The message is JSON (sent as application/json).
    #[arg(long, conflicts_with = "binary")]
    json_message: bool,
    /// The message is bytes (sent as application/octet-stream, read by the run from its FIFO).
    #[arg(long)]
    binary: bool,
    /// A variable of this run's environment, NAME=VALUE (repeatable; sent as a query
    /// parameter, as abaco does).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Wait for the run and print its result (abaco's synchronous messages).
    #[arg(long, conflicts_with = "wait")]
    sync: bool,
    /// Wait for the run to end, then show it and its logs; exit 3 unless it completed with
    /// exit code 0.
    #[arg(long)]
    wait: bool,
    /// Longest --wait waits, in seconds.
    #[arg(long, default_value_t = 600)]
    wait_secs: u64,
    /// How often --wait looks at the execution, in milliseconds.
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u64).range(1..))]
    poll_ms: u64,
}

/// `abaco executions`.
#[derive(Debug, Subcommand)]
pub enum ExecutionVerb {
    /// A page of an actor's executions, in the order they were accepted.
    Ls {
        /// The actor's id (or alias).
        actor: String,
        /// Where the page before ended (it says so when there is more).
        #[arg(long)]
        cursor: Option<String>,
        /// Most executions on the page (default: the platform's page size).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One execution.
    Get {
        /// The actor's id (or alias).
        actor: String,
        /// The execution's id.
        execution: String,
    },
    /// Stop a running execution (force-quit).
    Stop {
        /// The actor's id (or alias).
        actor: String,
        /// The execution's id.
        execution: String,
    },
}

/// `abaco logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The actor's id (or alias).
    actor: String,
    /// The execution's id.
    execution: String,
    /// Stream the output while the run goes on, to its end.
    #[arg(long, short)]
    follow: bool,
}

/// The fields `executions get` and `send --wait` show.
const SHOWN: &[&str] = &[
    "id",
    "actorId",
    "status",
    "statusMessage",
    "exitCode",
    "executor",
    "messageReceivedTime",
    "startTime",
    "finishTime",
    "runtime",
    "workerId",
];

impl SendArgs {
    fn message(&self) -> Result<Message, VerbError> {
        let body = match self.message.as_deref() {
            Some("-") => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes)?;
                bytes
            }
            Some(text) => text.as_bytes().to_vec(),
            None => Vec::new(),
        };
        let content_type = if self.binary {
            "application/octet-stream"
        } else if self.json_message {
            serde_json::from_slice::<Value>(&body).map_err(|error| {
                VerbError::Usage(format!("--json-message: the message is not JSON: {error}"))
            })?;
            "application/json"
        } else {
            "text/plain"
        };
        let params = self
            .env
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .ok_or_else(|| VerbError::Usage(format!("--env {pair:?}: expected NAME=VALUE")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Message {
            body,
            content_type: content_type.to_string(),
            params,
        })
    }
}

pub(super) async fn send(
    client: &Client,
    args: &ClientArgs,
    send: SendArgs,
) -> Result<(), VerbError> {
    let message = send.message()?;
    if send.sync {
        return match client.send_synchronous(&send.actor, message).await? {
            Synchronous::Finished(result) => output::bytes(&result),
            Synchronous::StillRunning { message, .. } => Err(VerbError::RunFailed(message)),
        };
    }
    let result = client.send(&send.actor, message).await?;
    let execution = result
        .get("executionId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !send.wait {
        output::said(args, &result, &execution);
        return Ok(());
    }
    let record = wait_for(
        client,
        &send.actor,
        &execution,
        Duration::from_secs(send.wait_secs),
        Duration::from_millis(send.poll_ms),
    )
    .await?;
    output::record(args, &record, SHOWN);
    if !args.json {
        let logs = client
            .get(&format!(
                "/actors/{}/executions/{execution}/logs",
                send.actor
            ))
            .await?;
        output::text(logs.get("logs").and_then(Value::as_str).unwrap_or_default());
    }
    let completed = record["status"] == "COMPLETE" && record["exitCode"].as_i64().unwrap_or(0) == 0;
    if completed {
        Ok(())
    } else {
        Err(VerbError::RunFailed(format!(
            "execution {execution} ended {} with exit code {}",
            record["status"].as_str().unwrap_or("?"),
            record["exitCode"]
        )))
    }
}

/// The execution's record once it is COMPLETE or ERROR, with a spinner meanwhile (on a
/// terminal only).
async fn wait_for(
    client: &Client,
    actor: &str,
    execution: &str,
    limit: Duration,
    poll: Duration,
) -> Result<Value, VerbError> {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    let started = Instant::now();
    let path = format!("/actors/{actor}/executions/{execution}");
    let outcome = loop {
        let record = client.get(&path).await?;
        let status = record["status"].as_str().unwrap_or_default().to_string();
        if status == "COMPLETE" || status == "ERROR" {
            break Ok(record);
        }
        if started.elapsed() >= limit {
            break Err(VerbError::RunFailed(format!(
                "execution {execution} is still {status} after {}s (--wait-secs)",
                limit.as_secs()
            )));
        }
        spinner.set_message(format!("{execution} {status}"));
        tokio::time::sleep(poll).await;
    };
    spinner.finish_and_clear();
    outcome
}

pub(super) async fn executions(
    client: &Client,
    args: &ClientArgs,
    verb: ExecutionVerb,
) -> Result<(), VerbError> {
    match verb {
        ExecutionVerb::Ls {
            actor,
            cursor,
            limit,
        } => {
            let mut query = format!("?cursor={}", cursor.unwrap_or_default());
            if let Some(limit) = limit {
                query.push_str(&format!("&limit={limit}"));
            }
            let result = client
                .get(&format!("/actors/{actor}/executions{query}"))
                .await?;
            let executions = result["executions"].as_array().cloned().unwrap_or_default();
            if let Some(next) = result["nextCursor"].as_str() {
                // On stderr: the rows (or the JSON) on stdout stay as they are.
                eprintln!(
                    "{} of {} shown; the next page: abaco executions ls {actor} --cursor {next}",
                    executions.len(),
                    result["totalExecutions"]
                );
            }
            output::rows(
                args,
                &result,
                &executions,
                &[
                    ("id", "ID"),
                    ("status", "STATUS"),
                    ("exitCode", "EXIT"),
                    ("messageReceivedTime", "RECEIVED"),
                    ("runtime", "RUNTIME (ms)"),
                ],
            );
        }
        ExecutionVerb::Get { actor, execution } => {
            let result = client
                .get(&format!("/actors/{actor}/executions/{execution}"))
                .await?;
            output::record(args, &result, SHOWN);
        }
        ExecutionVerb::Stop { actor, execution } => {
            let result = client
                .delete(&format!("/actors/{actor}/executions/{execution}"))
                .await?;
            output::said(args, &result, &format!("stopping {execution}"));
        }
    }
    Ok(())
}

pub(super) async fn logs(
    client: &Client,
    args: &ClientArgs,
    logs: LogsArgs,
) -> Result<(), VerbError> {
    if !logs.follow {
        let result = client
            .get(&format!(
                "/actors/{}/executions/{}/logs",
                logs.actor, logs.execution
            ))
            .await?;
        if args.json {
            output::said(args, &result, "");
        } else {
            output::text(result["logs"].as_str().unwrap_or_default());
        }
        return Ok(());
    }
    let mut stream = client.follow_logs(&logs.actor, &logs.execution).await?;
    while let Some(event) = stream.next().await {
        match event? {
            LogEvent::Output(text) => output::text(&text),
            LogEvent::End(_) => return Ok(()),
            LogEvent::Error(message) => {
                return Err(VerbError::Client(abaco_client::ClientError::Unexpected(
                    format!("following stopped: {message}"),
                )));
            }
        }
    }
    Ok(())
}
