//! `abaco`: every component of the platform as a subcommand, and `up` to run the whole
//! platform in one process on the embedded backends.

use std::process::ExitCode;

use abaco_cli::{WorkerArgs, components, config, metrics, shutdown, telemetry, token, user};
use clap::{CommandFactory, Parser, Subcommand};

/// abaco: actor-based containers, functions as a service for research computing.
#[derive(Debug, Parser)]
#[command(name = "abaco", version, about)]
struct Cli {
    #[command(flatten)]
    overrides: config::Overrides,
    #[command(flatten)]
    client: user::ClientArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Component(Component),
    /// One worker; spawners start these (as `abaco-worker` when that program sits beside
    /// this one).
    Worker(WorkerArgs),
    /// Prints a JWT for a user, signed with jwt_hs256_secret (for `auth = jwt`).
    Token(token::TokenArgs),
    #[command(flatten)]
    User(user::UserCommand),
    /// Prints a completion script for a shell, e.g. `abaco completions bash > /etc/bash_completion.d/abaco`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// The components that serve until stopped, on a runtime with a thread per core.
#[derive(Debug, Clone, Copy, Subcommand)]
enum Component {
    /// The whole platform in one process (embedded backends unless --backend distributed).
    Up,
    /// The REST gateway alone, in front of the gRPC services named in the settings.
    Gateway,
    /// The registration service alone.
    Registration,
    /// The messages service alone.
    Messages,
    /// The admin service alone.
    Admin,
    /// The spawner of this host: starts workers as processes when asked.
    Spawner,
    /// The health checks.
    Health,
}

impl Component {
    /// As traces name it (`abaco-<component>`).
    fn name(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Gateway => "gateway",
            Self::Registration => "registration",
            Self::Messages => "messages",
            Self::Admin => "admin",
            Self::Spawner => "spawner",
            Self::Health => "health",
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::User(command) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            Ok(runtime.block_on(user::run(&cli.client, command)))
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "abaco", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker(worker) => {
            abaco_cli::run_worker(&cli.overrides, &worker)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(args) => {
            let settings = config::load(&cli.overrides)?;
            let token = token::mint(&settings, &args)?;
            // The token is this command's whole output, for `$(abaco token ...)`.
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Component(component) => {
            tokio::runtime::Runtime::new()?.block_on(run(&cli.overrides, component))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run(overrides: &config::Overrides, component: Component) -> anyhow::Result<()> {
    let settings = config::load(overrides)?;
    // Held to the end: dropping it flushes the last spans.
    let _telemetry = telemetry::init(&settings, component.name())?;
    let stop = shutdown::on_signals();
    metrics::serve(&settings, component.name(), stop.clone()).await?;
    match component {
        Component::Up => components::up(settings, stop).await,
        Component::Gateway => components::gateway(&settings, stop).await,
        Component::Registration => {
            components::service(components::Service::Registration, &settings, stop).await
        }
        Component::Messages => {
            components::service(components::Service::Messages, &settings, stop).await
        }
        Component::Admin => components::service(components::Service::Admin, &settings, stop).await,
        Component::Spawner => {
            let config_file = overrides.config.as_deref();
            components::spawner(&settings, config_file, stop).await
        }
        Component::Health => components::health(&settings, stop).await,
    }
}
