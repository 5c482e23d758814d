//! Settings in layers: built-in defaults, then a TOML file, then `ABACO_*` environment
//! variables, then command-line flags. Each layer overrides the one before it.

use std::{net::SocketAddr, path::PathBuf};

use abaco::settings::{Backend, Settings};
use anyhow::Context;
use clap::Args;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};

/// Flags every subcommand takes; each overrides the file and the environment.
#[derive(Debug, Args, Default)]
pub struct Overrides {
    /// A TOML file of settings (keys as in `abaco.example.toml`).
    #[arg(long, global = true, env = "ABACO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the REST gateway listens [default: 127.0.0.1:8000].
    #[arg(long, global = true)]
    pub http_addr: Option<SocketAddr>,
    /// Where the gRPC services listen [default: 127.0.0.1:50051].
    #[arg(long, global = true)]
    pub grpc_addr: Option<SocketAddr>,
    /// Where the embedded backend keeps its files [default: ./abaco-data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// `embedded` (files under data-dir) or `distributed` (Redis and RabbitMQ).
    #[arg(long, global = true)]
    pub backend: Option<String>,
    /// Redis URL for the distributed backend.
    #[arg(long, global = true)]
    pub redis_url: Option<String>,
    /// RabbitMQ URL for the distributed backend.
    #[arg(long, global = true)]
    pub amqp_url: Option<String>,
}

/// Environment variables under the `ABACO_` prefix that are not settings: the user verbs'
/// (`ABACO_URL`, `ABACO_TOKEN`, `ABACO_USER`) among them, so one shell can hold both.
const NOT_SETTINGS: [&str; 6] = ["config", "log", "bin", "url", "token", "user"];

/// Loads the settings for this run.
pub fn load(overrides: &Overrides) -> anyhow::Result<Settings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(path) = &overrides.config {
        anyhow::ensure!(
            path.exists(),
            "config file {} does not exist",
            path.display()
        );
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(
        Env::prefixed("ABACO_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                !NOT_SETTINGS.contains(&key.as_str()) && !key.starts_with("test_")
            })
            .split("__"),
    );
    let mut settings: Settings = figment.extract().context("reading settings")?;
    apply(overrides, &mut settings)?;
    Ok(settings)
}

fn apply(overrides: &Overrides, settings: &mut Settings) -> anyhow::Result<()> {
    if let Some(addr) = overrides.http_addr {
        settings.http_addr = addr;
    }
    if let Some(addr) = overrides.grpc_addr {
        settings.grpc_addr = addr;
    }
    if let Some(dir) = &overrides.data_dir {
        settings.data_dir.clone_from(dir);
    }
    if let Some(backend) = &overrides.backend {
        settings.backend = match backend.as_str() {
            "embedded" => Backend::Embedded,
            "distributed" => Backend::Distributed,
            other => anyhow::bail!("--backend must be embedded or distributed, not {other:?}"),
        };
    }
    if let Some(url) = &overrides.redis_url {
        settings.redis_url.clone_from(url);
    }
    if let Some(url) = &overrides.amqp_url {
        settings.amqp_url.clone_from(url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // figment's Jail API returns its large error type by design.
    #![allow(clippy::unwrap_used, clippy::result_large_err)]
    use super::*;
    use abaco::settings::GatewayMessages;

    #[test]
    fn layers_override_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("abaco.toml", "http_addr = \"127.0.0.1:9000\"\ngrpc_addr = \"127.0.0.1:9001\"\nnamespace = \"from-file\"\n")?;
            jail.set_env("ABACO_GRPC_ADDR", "127.0.0.1:9002");
            jail.set_env("ABACO_TEST_REDIS_URL", "ignored");
            jail.set_env("ABACO_LOG", "debug");
            let overrides = Overrides {
                config: Some("abaco.toml".into()),
                data_dir: Some("/tmp/flag".into()),
                ..Overrides::default()
            };
            let settings = load(&overrides).unwrap();
            assert_eq!(settings.http_addr.port(), 9000);
            assert_eq!(settings.grpc_addr.port(), 9002);
            assert_eq!(settings.namespace, "from-file");
            assert_eq!(settings.data_dir, PathBuf::from("/tmp/flag"));
            Ok(())
        });
    }

    #[test]
    fn gateway_messages_is_remote_unless_set_and_refuses_other_values() {
        figment::Jail::expect_with(|jail| {
            let settings = load(&Overrides::default()).unwrap();
            assert_eq!(settings.gateway_messages, GatewayMessages::Remote);
            jail.set_env("ABACO_GATEWAY_MESSAGES", "in-process");
            let settings = load(&Overrides::default()).unwrap();
            assert_eq!(settings.gateway_messages, GatewayMessages::InProcess);
            jail.set_env("ABACO_GATEWAY_MESSAGES", "local");
            let error = format!("{:#}", load(&Overrides::default()).unwrap_err());
            assert!(
                error.contains("local") && error.contains("in-process"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn the_user_verbs_variables_are_not_settings() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ABACO_URL", "http://127.0.0.1:8000");
            jail.set_env("ABACO_TOKEN", "a.b.c");
            jail.set_env("ABACO_USER", "ada");
            load(&Overrides::default()).unwrap();
            Ok(())
        });
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ABACO_HTTP_ADRR", "127.0.0.1:1");
            let error = load(&Overrides::default()).unwrap_err();
            assert!(format!("{error:#}").contains("http_adrr"), "{error:#}");
            Ok(())
        });
    }

    /// The `ABACO_*` settings compose/docker-compose.yml gives its services, with compose's
    /// `${NAME:-default}` and `${NAME:?message}` replaced by a default or a stand-in secret.
    fn compose_settings() -> Vec<(String, String)> {
        let file = include_str!("../../compose/docker-compose.yml");
        file.lines()
            .filter_map(|line| {
                let (name, value) = line.trim().split_once(':')?;
                name.starts_with("ABACO_").then(|| {
                    let value = value.trim();
                    let value = match value.strip_prefix("${") {
                        Some(reference) => reference
                            .split_once(":-")
                            .map_or("0123456789abcdef0123456789abcdef", |(_, default)| {
                                default.trim_end_matches('}')
                            }),
                        None => value,
                    };
                    (name.to_string(), value.to_string())
                })
            })
            .collect()
    }

    #[test]
    fn compose_sets_only_settings_the_program_accepts() {
        let settings = compose_settings();
        assert!(settings.len() > 10, "{settings:?}");
        figment::Jail::expect_with(|jail| {
            for (name, value) in &settings {
                jail.set_env(name, value);
            }
            let loaded = load(&Overrides::default())
                .map_err(|error| format!("compose/docker-compose.yml: {error:#}"))?;
            assert!(
                loaded.advertise_host.starts_with("spawner"),
                "{}",
                loaded.advertise_host
            );
            assert_eq!(loaded.auth, abaco::settings::AuthMode::Jwt);
            Ok(())
        });
    }
}
