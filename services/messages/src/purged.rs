//! After a purge, the executions whose messages went with it end ERROR at once. The
//! stuck-execution sweep would settle them only once the mailbox had emptied, which an actor
//! that keeps receiving messages may never do.

use std::pin::pin;

use abaco::{Result, pb};
use futures::{StreamExt, TryStreamExt, stream};

use crate::MessagesService;

/// Open executions read per store call while settling.
const BATCH: usize = 500;

/// What a purged execution says.
const PURGED: &str = "its message was purged from the mailbox before it ran";

impl MessagesService {
    /// Ends ERROR every execution of `actor_id` still waiting (SUBMITTED) that was accepted
    /// before `purged_at`; how many. Each is marked swept: a message that was out with a
    /// worker, and so escaped the purge, still runs its execution when it is claimed. Up to
    /// the service's purge concurrency are ended at once: each is its own compare-and-set, and
    /// one after another a purge of a long backlog waits a store round trip per message.
    pub(crate) async fn settle_purged(&self, actor_id: &str, purged_at: &str) -> Result<usize> {
        let mut ended = 0;
        let mut pages = pin!(self.records.open_pages(Some(actor_id), BATCH));
        while let Some(open) = pages.try_next().await? {
            let waiting: Vec<pb::Execution> = open
                .into_iter()
                .filter(|e| {
                    e.status() == pb::ExecutionStatus::Submitted
                        && !e.swept
                        && e.message_received_time.as_str() <= purged_at
                })
                .collect();
            // A worker may have claimed one since: its run stands, and it is not counted.
            let records = &self.records;
            let mut settling = stream::iter(waiting)
                .map(|execution| async move { records.end_swept(&execution, PURGED).await })
                .buffer_unordered(self.purge_concurrency);
            while let Some(settled) = settling.try_next().await? {
                ended += usize::from(settled.is_some());
            }
        }
        Ok(ended)
    }
}
