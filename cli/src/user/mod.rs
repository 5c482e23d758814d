//! The verbs users run against a platform: `abaco actors ls`, `abaco send`, `abaco logs -f`...
//! They speak REST to the gateway at `--url` (`ABACO_URL`) as the bearer of `--token`
//! (`ABACO_TOKEN`). Tables for people, `--json` for scripts (the API's `result`, as is).
//!
//! Exit codes scripts can rely on: 0 done; 1 the platform refused or failed (its message on
//! stderr); 2 the command line was wrong; 3 `send --wait` saw the run end other than COMPLETE
//! with exit code 0; 4 the platform could not be reached.

mod actors;
mod dead_letters;
mod output;
mod runs;
mod sharing;

use std::{process::ExitCode, time::Duration};

use abaco_client::{Client, ClientError, Credentials};
use clap::{Args, Subcommand};

pub use actors::ActorVerb;
pub use dead_letters::DeadLetterVerb;
pub use runs::{ExecutionVerb, LogsArgs, SendArgs};
pub use sharing::{AliasVerb, NonceVerb, PermissionVerb, WorkerVerb};

/// Where the platform is and who is asking; every user verb takes these.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The platform's REST API.
    #[arg(
        long,
        global = true,
        env = "ABACO_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub url: String,
    /// A JWT to call as (`auth = jwt` platforms); `abaco token` makes one.
    #[arg(long, global = true, env = "ABACO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The user to call as on a development platform (`auth = header`), as X-Abaco-User.
    #[arg(
        long = "as",
        global = true,
        env = "ABACO_USER",
        conflicts_with = "token"
    )]
    pub as_user: Option<String>,
    /// Print the API's result as JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds a call may take.
    #[arg(long, global = true, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// The user verbs, as subcommands of `abaco`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Actors: list, register, show, change, delete.
    Actors {
        #[command(subcommand)]
        verb: ActorVerb,
    },
    /// Send a message to an actor (and, with --wait, see its run to the end).
    Send(SendArgs),
    /// An actor's executions.
    Executions {
        #[command(subcommand)]
        verb: ExecutionVerb,
    },
    /// A run's logs; --follow streams them while it runs.
    Logs(LogsArgs),
    /// An actor's workers.
    Workers {
        #[command(subcommand)]
        verb: WorkerVerb,
    },
    /// Aliases: names that stand for actors.
    Aliases {
        #[command(subcommand)]
        verb: AliasVerb,
    },
    /// Nonces: tokens that let outside systems call an actor.
    Nonces {
        #[command(subcommand)]
        verb: NonceVerb,
    },
    /// Who may read, execute or update an actor.
    Permissions {
        #[command(subcommand)]
        verb: PermissionVerb,
    },
    /// Messages a worker put aside instead of running: list, send again, forget.
    Deadletters {
        #[command(subcommand)]
        verb: DeadLetterVerb,
    },
}

/// What went wrong in a user verb, and its exit code.
#[derive(Debug, thiserror::Error)]
pub enum VerbError {
    /// The platform's answer or its absence.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The arguments made no sense together.
    #[error("{0}")]
    Usage(String),
    /// A waited-for run did not end well.
    #[error("{0}")]
    RunFailed(String),
    /// Reading input or writing output failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl VerbError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Client(ClientError::Unreachable { .. } | ClientError::BadUrl { .. }) => 4,
            Self::Client(_) | Self::Io(_) => 1,
            Self::Usage(_) => 2,
            Self::RunFailed(_) => 3,
        }
    }
}

impl ClientArgs {
    fn client(&self) -> Result<Client, ClientError> {
        let credentials = match (&self.token, &self.as_user) {
            (Some(token), _) => Credentials::Token(token.clone()),
            (None, Some(user)) => Credentials::User(user.clone()),
            (None, None) => Credentials::None,
        };
        Client::new(
            &self.url,
            credentials,
            Duration::from_secs(self.timeout_secs),
        )
    }
}

/// Runs a user verb; its exit code.
pub async fn run(args: &ClientArgs, command: UserCommand) -> ExitCode {
    let outcome = async {
        let client = args.client()?;
        match command {
            UserCommand::Actors { verb } => actors::run(&client, args, verb).await,
            UserCommand::Send(send) => runs::send(&client, args, send).await,
            UserCommand::Executions { verb } => runs::executions(&client, args, verb).await,
            UserCommand::Logs(logs) => runs::logs(&client, args, logs).await,
            UserCommand::Workers { verb } => sharing::workers(&client, args, verb).await,
            UserCommand::Aliases { verb } => sharing::aliases(&client, args, verb).await,
            UserCommand::Nonces { verb } => sharing::nonces(&client, args, verb).await,
            UserCommand::Permissions { verb } => sharing::permissions(&client, args, verb).await,
            UserCommand::Deadletters { verb } => dead_letters::run(&client, args, verb).await,
        }
    }
    .await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::complain(&error);
            ExitCode::from(error.exit_code())
        }
    }
}
