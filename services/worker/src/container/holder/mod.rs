//! A worker's network holder: a container that only keeps a network namespace, which the
//! worker's runs join (`NetworkMode: container:<holder>`). Docker then neither makes nor tears
//! down a namespace and a bridge link per run, which is most of what starting and stopping a
//! short run costs. Each run is still a fresh container with its own processes, filesystem
//! and limits; what runs of one worker share is the network: addresses, `/etc/hosts` and
//! `resolv.conf`. A worker serves one actor, so runs of different actors never share one.
//!
//! The holder carries the worker's labels, so the health checks remove it with the worker's
//! other containers once the worker is gone (e.g. killed with -9).

mod idle_program;

use std::collections::HashMap;

use bollard::{
    errors::Error as DockerError,
    models::{ContainerCreateBody, HostConfig, HostConfigLogConfig},
    query_parameters::{CreateContainerOptionsBuilder, CreateImageOptionsBuilder},
};
use futures::StreamExt;
use tokio::sync::Mutex;

use super::{DockerRunner, RunError};

/// The holder's image, made on the host from [`idle_program`]; the tag names its program's
/// version.
pub const HOLDER_IMAGE: &str = "abaco/network-holder:1";
/// Label marking a container as a network holder (value `network`).
pub const LABEL_ROLE: &str = "org.abaco.role";

/// Memory of a holder: its program needs a page or two.
const HOLDER_MEMORY: i64 = 8 << 20;

/// The holder of one worker, started when its first run needs it and replaced when found gone.
#[derive(Debug)]
pub struct NetworkHolder {
    runner: DockerRunner,
    labels: HashMap<String, String>,
    name_prefix: String,
    current: Mutex<Option<String>>,
}

impl NetworkHolder {
    /// A holder for the worker whose containers carry `labels`, on the runner's network.
    pub fn new(runner: DockerRunner, labels: HashMap<String, String>, worker_id: &str) -> Self {
        let mut labels = labels;
        labels.insert(LABEL_ROLE.to_string(), "network".to_string());
        Self {
            runner,
            labels,
            name_prefix: format!("abaco-net-{worker_id}"),
            current: Mutex::new(None),
        }
    }

    /// The running holder's id, starting one if there is none or the last one is gone;
    /// `None` when none can be had, and then the run makes its own network namespace.
    pub async fn ensure(&self) -> Option<String> {
        let mut current = self.current.lock().await;
        if let Some(id) = current.as_deref() {
            match self.runner.is_running(id).await {
                Ok(true) => return Some(id.to_string()),
                Ok(false) => {
                    tracing::warn!(holder = id, "network holder is gone; starting another");
                    self.runner.remove(id).await;
                }
                Err(error) => {
                    tracing::warn!(holder = id, %error, "network holder unreadable; run makes its own network");
                    return None;
                }
            }
        }
        *current = None;
        match self
            .runner
            .start_holder(&self.labels, &self.name_prefix)
            .await
        {
            Ok(id) => {
                *current = Some(id.clone());
                Some(id)
            }
            Err(error) => {
                tracing::warn!(%error, "could not start a network holder; runs make their own network");
                None
            }
        }
    }

    /// Removes the holder, if there is one (the worker is stopping).
    pub async fn remove(&self) {
        if let Some(id) = self.current.lock().await.take() {
            self.runner.remove(&id).await;
        }
    }
}

impl RunError {
    /// Whether the run could not start because its network holder had stopped (after the
    /// holder's alive check): a run that never started, so it may be started again in a
    /// fresh holder.
    pub fn missed_network_holder(&self) -> bool {
        matches!(
            self,
            RunError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("cannot join network of a non running container")
        )
    }
}

impl DockerRunner {
    /// Whether container `id` exists and runs.
    async fn is_running(&self, id: &str) -> Result<bool, RunError> {
        match self.docker.inspect_container(id, None).await {
            Ok(found) => Ok(found.state.and_then(|s| s.running).unwrap_or(false)),
            Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Makes the holder image on this host from the program written here.
    async fn ensure_holder_image(&self) -> Result<(), RunError> {
        if self.image_exists(HOLDER_IMAGE).await? {
            return Ok(());
        }
        let Some(program) = idle_program::for_this_host() else {
            return Err(RunError::Io(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "no network holder program for this architecture",
            )));
        };
        let (repo, tag) = HOLDER_IMAGE
            .split_once(':')
            .unwrap_or((HOLDER_IMAGE, "latest"));
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(vec![r#"ENTRYPOINT ["/idle"]"#.to_string()])
            .build();
        let body = bollard::body_full(one_file_tar("idle", &program)?.into());
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(step) = progress.next().await {
            step?;
        }
        Ok(())
    }

    /// Starts a holder with `labels` on the sandbox's network; its id.
    async fn start_holder(
        &self,
        labels: &HashMap<String, String>,
        name_prefix: &str,
    ) -> Result<String, RunError> {
        self.ensure_holder_image().await?;
        let host_config = HostConfig {
            network_mode: Some(self.sandbox.network.clone()),
            memory: Some(HOLDER_MEMORY),
            memory_swap: Some(HOLDER_MEMORY),
            // Its one process, with no init before it whatever the engine's default: an init
            // would be a second process, over the limit.
            init: Some(false),
            pids_limit: Some(1),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            readonly_rootfs: Some(true),
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".into()),
                config: None,
            }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(HOLDER_IMAGE.to_string()),
            labels: Some(labels.clone()),
            host_config: Some(host_config),
            ..Default::default()
        };
        let name = format!("{name_prefix}-{}", abaco::ids::new_id());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let id = self.docker.create_container(Some(options), body).await?.id;
        if let Err(error) = self.docker.start_container(&id, None).await {
            self.remove(&id).await;
            return Err(error.into());
        }
        Ok(id)
    }
}

/// A tar archive holding one executable file.
fn one_file_tar(name: &str, content: &[u8]) -> Result<Vec<u8>, RunError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o555);
    header.set_cksum();
    let mut archive = tar::Builder::new(Vec::new());
    archive.append_data(&mut header, name, content)?;
    Ok(archive.into_inner()?)
}

#[cfg(test)]
mod tests {
    use bollard::errors::Error as DockerError;

    use super::RunError;

    fn refused(status_code: u16, message: &str) -> RunError {
        RunError::Docker(DockerError::DockerResponseServerError {
            status_code,
            message: message.into(),
        })
    }

    #[test]
    fn only_a_start_refused_for_a_stopped_holder_counts_as_missing_it() {
        assert!(
            refused(
                409,
                "cannot join network of a non running container: adcbee72a0e7"
            )
            .missed_network_holder()
        );
        assert!(
            !refused(409, "Conflict. The container name is already in use").missed_network_holder()
        );
        assert!(
            !refused(500, "cannot join network of a non running container").missed_network_holder()
        );
        assert!(!RunError::Io(std::io::Error::other("disk full")).missed_network_holder());
    }
}
