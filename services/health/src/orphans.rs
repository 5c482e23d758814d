//! Containers that carry our labels but whose worker is gone.

use std::collections::{HashMap, HashSet};

use abaco::pb;
use abaco_worker::container::{LABEL_INSTANCE, LABEL_NAMESPACE, LABEL_WORKER};

use crate::HealthChecker;

impl HealthChecker {
    /// Removes this platform's containers whose worker is not among `live_workers`.
    ///
    /// Containers younger than `orphan_min_age` are left for a later pass: the live workers
    /// are read before the containers are listed, so a worker registered in between (with
    /// its first container started) would look dead; any container created before the read
    /// is older than that by the time a later pass lists it. The age also covers clock skew
    /// between this host and the Docker host, which stamps `created`.
    pub(crate) async fn remove_orphans(&self, live_workers: &[pb::Worker]) -> usize {
        let Some(docker) = &self.docker else {
            return 0;
        };
        let live: HashSet<&str> = live_workers.iter().map(|w| w.id.as_str()).collect();
        let filters = [
            format!("{LABEL_NAMESPACE}={}", self.namespace),
            format!("{LABEL_INSTANCE}={}", self.instance),
        ];
        let keep = |labels: &HashMap<String, String>| {
            labels
                .get(LABEL_WORKER)
                .is_some_and(|worker| live.contains(worker.as_str()))
        };
        match docker
            .remove_orphans(&filters, self.settings.orphan_min_age, keep)
            .await
        {
            Ok(removed) => removed,
            Err(error) => {
                tracing::warn!(%error, "could not list containers for orphans");
                0
            }
        }
    }
}
