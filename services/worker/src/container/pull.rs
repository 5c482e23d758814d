//! Pulling images from registries, with the credentials of Docker's `config.json` format
//! (`{"auths": {"<registry host>": {"auth": base64("user:password")}}}`, or `username` and
//! `password` instead of `auth`).

use std::{collections::HashMap, path::Path, time::Duration};

use base64::Engine;
use bollard::{auth::DockerCredentials, errors::Error as DockerError, query_parameters};
use futures::StreamExt;
use serde::Deserialize;

use super::DockerRunner;

/// The registry of images that name none.
const DOCKER_HUB: &str = "docker.io";

/// Why an image could not be pulled. The texts name the image and what the registry (or
/// Docker) answered, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The registry or the engine refused or failed the pull.
    #[error("image {image} could not be pulled: {answer}")]
    Refused {
        /// The image asked for.
        image: String,
        /// What came back.
        answer: String,
    },
    /// The pull took longer than allowed.
    #[error("image {image} could not be pulled within {secs} s")]
    TimedOut {
        /// The image asked for.
        image: String,
        /// The bound.
        secs: u64,
    },
}

/// Why registry credentials could not be read.
#[derive(Debug, thiserror::Error)]
#[error("registry credentials {path}: {reason}")]
pub struct AuthFileError {
    path: String,
    reason: String,
}

/// Credentials by registry host.
#[derive(Clone, Default)]
pub struct RegistryAuth {
    by_host: HashMap<String, (String, String)>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hosts only: the credentials never print.
        f.debug_struct("RegistryAuth")
            .field("hosts", &self.by_host.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl RegistryAuth {
    /// The credentials of a Docker `config.json`-style file.
    pub fn from_file(path: &Path) -> Result<Self, AuthFileError> {
        let fail = |reason: String| AuthFileError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let config: ConfigFile =
            serde_json::from_str(&text).map_err(|e| fail(format!("not a Docker config: {e}")))?;
        let mut by_host = HashMap::new();
        for (host, entry) in config.auths {
            let pair = match (entry.auth, entry.username, entry.password) {
                (Some(auth), _, _) => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .ok_or_else(|| fail(format!("the auth of {host} is not base64 text")))?;
                    let (user, password) = decoded
                        .split_once(':')
                        .ok_or_else(|| fail(format!("the auth of {host} is not user:password")))?;
                    (user.to_owned(), password.to_owned())
                }
                (None, Some(user), Some(password)) => (user, password),
                _ => {
                    return Err(fail(format!(
                        "{host} has neither auth nor username and password"
                    )));
                }
            };
            by_host.insert(normal_host(&host), pair);
        }
        Ok(Self { by_host })
    }

    fn credentials(&self, image: &str) -> Option<DockerCredentials> {
        let host = registry_of(image);
        self.by_host
            .get(&host)
            .map(|(username, password)| DockerCredentials {
                username: Some(username.clone()),
                password: Some(password.clone()),
                serveraddress: Some(host),
                ..Default::default()
            })
    }
}

/// A registry key as `config.json` may spell it (`https://index.docker.io/v1/`,
/// `127.0.0.1:5000`) in one form: host and port.
fn normal_host(key: &str) -> String {
    let bare = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = bare.split('/').next().unwrap_or(bare);
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

/// The registry an image reference names: its first part when that looks like a host (has a
/// `.` or `:`, or is `localhost`), else Docker Hub.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
            normal_host(first)
        }
        _ => DOCKER_HUB.to_owned(),
    }
}

/// The reference to pull: with `:latest` when it names neither tag nor digest (the engine
/// would otherwise pull every tag).
fn pull_reference(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') || last.contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

impl DockerRunner {
    /// Pulls `image` from its registry with the configured credentials, logging progress,
    /// within `timeout`.
    pub async fn pull(&self, image: &str, timeout: Duration) -> Result<(), PullError> {
        let reference = pull_reference(image);
        let options = query_parameters::CreateImageOptionsBuilder::default()
            .from_image(&reference)
            .build();
        let started = std::time::Instant::now();
        tracing::info!(image, registry = %registry_of(image), "pulling image");
        let refused = |answer: String| PullError::Refused {
            image: image.to_owned(),
            answer,
        };
        let stream =
            self.docker
                .create_image(Some(options), None, self.registries.credentials(image));
        let pulling = async {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                            return Err(refused(detail));
                        }
                        if let Some(status) = info.status {
                            tracing::debug!(image, layer = ?info.id, %status, "pull progress");
                        }
                    }
                    Err(DockerError::DockerResponseServerError { message, .. }) => {
                        return Err(refused(message));
                    }
                    Err(DockerError::DockerStreamError { error }) => return Err(refused(error)),
                    Err(other) => return Err(refused(other.to_string())),
                }
            }
            Ok(())
        };
        match tokio::time::timeout(timeout, pulling).await {
            Ok(Ok(())) => {
                tracing::info!(
                    image,
                    seconds = started.elapsed().as_secs_f64(),
                    "image pulled"
                );
                Ok(())
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(PullError::TimedOut {
                image: image.to_owned(),
                secs: timeout.as_secs(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_read_off_the_reference() {
        assert_eq!(registry_of("abaco/sample-echo"), "docker.io");
        assert_eq!(registry_of("ubuntu"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/team/echo:v1"), "127.0.0.1:5000");
        assert_eq!(registry_of("ghcr.io/org/tool"), "ghcr.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(normal_host("https://index.docker.io/v1/"), "docker.io");
    }

    #[test]
    fn untagged_references_pull_latest_only() {
        assert_eq!(pull_reference("a/b"), "a/b:latest");
        assert_eq!(
            pull_reference("127.0.0.1:5000/a/b"),
            "127.0.0.1:5000/a/b:latest"
        );
        assert_eq!(pull_reference("a/b:v1"), "a/b:v1");
        assert_eq!(pull_reference("a/b@sha256:00"), "a/b@sha256:00");
    }

    #[test]
    fn config_files_give_credentials_by_host() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let text = format!(
            r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"username": "bob", "password": "pw"}}}}}}"#
        );
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let registries = RegistryAuth::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let local = registries
            .credentials("127.0.0.1:5000/x/y")
            .unwrap_or_else(|| panic!("no credentials"));
        assert_eq!(local.username.as_deref(), Some("alice"));
        assert_eq!(local.password.as_deref(), Some("s3cret"));
        let hub = registries.credentials("library/ubuntu");
        assert_eq!(hub.and_then(|c| c.username).as_deref(), Some("bob"));
        assert!(registries.credentials("ghcr.io/x").is_none());
        assert!(!format!("{registries:?}").contains("s3cret"));
    }
}
