//! Removing containers nothing accounts for any more (their worker is gone), which health
//! checks ask for after crashes.

use std::{collections::HashMap, time::Duration};

use bollard::{
    errors::Error as DockerError,
    query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder},
};
use chrono::Utc;

use super::{DockerRunner, RunError};

impl DockerRunner {
    /// Force-removes containers matching every Docker label filter of `label_filters` (e.g.
    /// `org.abaco.worker=...`) whose labels `keep` rejects, leaving alone those created less
    /// than `min_age` ago (by the Docker host's clock, to the second); how many went.
    pub async fn remove_orphans(
        &self,
        label_filters: &[String],
        min_age: Duration,
        keep: impl Fn(&HashMap<String, String>) -> bool,
    ) -> Result<usize, RunError> {
        let filters = HashMap::from([(
            "label",
            label_filters.iter().map(String::as_str).collect::<Vec<_>>(),
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let mut removed = 0;
        for container in self.docker.list_containers(Some(options)).await? {
            let (Some(id), labels) = (container.id, container.labels.unwrap_or_default()) else {
                continue;
            };
            if keep(&labels) || container.created.is_some_and(|c| younger_than(c, min_age)) {
                continue;
            }
            let options = RemoveContainerOptionsBuilder::default().force(true).build();
            match self.docker.remove_container(&id, Some(options)).await {
                Ok(()) => removed += 1,
                Err(DockerError::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(removed)
    }
}

/// Whether a container created at `created` (Unix seconds) is younger than `age` now.
fn younger_than(created: i64, age: Duration) -> bool {
    let now = Utc::now().timestamp();
    now.saturating_sub(created) < i64::try_from(age.as_secs()).unwrap_or(i64::MAX)
}
