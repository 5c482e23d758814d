//! Following the output of a run while it goes: the container is found by its execution label,
//! and Docker's log stream, from the first line, is passed on until the container stops or
//! the cap is reached.

use std::{collections::HashMap, time::Duration};

use abaco::{AbacoError, fleet::LogStream};
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{DockerRunner, LABEL_EXECUTION};

impl DockerRunner {
    /// The output of the container running `execution_id`, as it comes, at most `cap` bytes;
    /// `None` when no such container appears.
    pub async fn follow_logs(
        &self,
        execution_id: &str,
        cap: usize,
    ) -> Result<Option<LogStream>, super::RunError> {
        // The run may be claimed with its container still being made or started.
        let deadline = tokio::time::Instant::now() + self.follow_find;
        let container = loop {
            if let Some(id) = self.container_of(execution_id).await? {
                break id;
            }
            if tokio::time::Instant::now() > deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(true)
            .build();
        let mut logs = self.docker.logs(&container, Some(options));
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut left = cap;
            while let Some(chunk) = logs.next().await {
                let item = match chunk {
                    Ok(output) => {
                        let bytes = output.into_bytes();
                        let take = bytes.len().min(left);
                        left -= take;
                        Ok(String::from_utf8_lossy(&bytes[..take]).into_owned())
                    }
                    Err(error) => Err(AbacoError::Unavailable(format!("docker logs: {error}"))),
                };
                let failed = item.is_err();
                // A follower that hung up ends the stream here too.
                if tx.send(item).await.is_err() || failed || left == 0 {
                    return;
                }
            }
        });
        Ok(Some(ReceiverStream::new(rx).boxed()))
    }

    /// The container running `execution_id`, once it has started: Docker's log stream of a
    /// container that is only created ends at once, empty.
    async fn container_of(&self, execution_id: &str) -> Result<Option<String>, super::RunError> {
        let label = format!("{LABEL_EXECUTION}={execution_id}");
        let filters = HashMap::from([("label", vec![label.as_str()])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        Ok(self
            .docker
            .list_containers(Some(options))
            .await?
            .into_iter()
            .filter(|container| {
                !matches!(
                    container.state,
                    Some(bollard::models::ContainerSummaryStateEnum::CREATED) | None
                )
            })
            .find_map(|container| container.id))
    }
}
