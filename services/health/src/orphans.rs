//! Containers that carry our labels but whose worker is gone.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use abaco::pb;
use abaco_worker::container::{LABEL_INSTANCE, LABEL_NAMESPACE, LABEL_WORKER};

use crate::HealthChecker;

/// Containers younger than this are never orphans yet. The live workers are read before the
/// containers are listed, so a worker registered in between (with its first container
/// started) would look dead; any container created before the read is older than this by
/// the time a later pass lists it, and is judged then. Covers clock skew between this host
/// and the Docker host's, which stamps `created`.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(10);

impl HealthChecker {
    /// Removes this platform's containers whose worker is not among `live_workers`.
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
        match docker.remove_orphans(&filters, ORPHAN_MIN_AGE, keep).await {
            Ok(removed) => removed,
            Err(error) => {
                tracing::warn!(%error, "could not list containers for orphans");
                0
            }
        }
    }
}
