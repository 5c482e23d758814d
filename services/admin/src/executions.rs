//! The tenant's executions, for the admin views: a page across its actors (by actor id, each
//! actor's in the order they were accepted) and the count of those running, both read from
//! the execution indexes rather than from every execution.

use std::{collections::HashSet, pin::pin};

use abaco::{AbacoError, Result, paging, pb};
use futures::TryStreamExt;

use crate::AdminService;

/// Separates the actor from its own cursor inside a tenant-wide cursor.
const SEPARATOR: char = '\n';

impl AdminService {
    /// How many executions of `actors` are running: read from the executions not yet ended.
    pub(crate) async fn running_executions(&self, actors: &[pb::Actor]) -> Result<u64> {
        let ids: HashSet<&str> = actors.iter().map(|a| a.id.as_str()).collect();
        let mut running = 0;
        let mut pages = pin!(self.records.open_pages(None, self.pages.max));
        while let Some(open) = pages.try_next().await? {
            running += open
                .iter()
                .filter(|e| ids.contains(e.actor_id.as_str()))
                .filter(|e| e.status() == pb::ExecutionStatus::Running)
                .count() as u64;
        }
        Ok(running)
    }

    /// A page of the executions of `actors`: by actor id, then in the order each actor's were
    /// accepted. The cursor names the actor and where in its executions the page ended.
    pub(crate) async fn executions_page(
        &self,
        actors: Vec<pb::Actor>,
        page: Option<&pb::PageRequest>,
    ) -> Result<pb::ListExecutionsResponse> {
        let page = page.cloned().unwrap_or_default();
        let limit = match usize::try_from(page.limit).unwrap_or(usize::MAX) {
            0 => self.pages.size,
            asked => asked.min(self.pages.max),
        };
        let (start, mut within) = if page.cursor.is_empty() {
            (None, None)
        } else {
            let key = paging::key_of(&page.cursor)?;
            let (actor, within) = key.split_once(SEPARATOR).ok_or_else(|| {
                AbacoError::Invalid(format!(
                    "cursor {:?} is not one this listing handed out",
                    page.cursor
                ))
            })?;
            (
                Some(actor.to_owned()),
                Some(within.to_owned()).filter(|w| !w.is_empty()),
            )
        };
        let mut ids: Vec<String> = actors.into_iter().map(|a| a.id).collect();
        ids.sort();
        ids.retain(|id| start.as_ref().is_none_or(|start| id >= start));
        let mut skip = usize::try_from(page.skip).unwrap_or(usize::MAX);
        let mut found = pb::ListExecutionsResponse::default();
        for (n, id) in ids.iter().enumerate() {
            let mut after = if start.as_ref() == Some(id) {
                within.take()
            } else {
                None
            };
            if skip > 0 && after.is_none() {
                // Whole actors passed over are counted, not read.
                let count =
                    usize::try_from(self.records.count_executions(id).await?).unwrap_or(usize::MAX);
                if skip >= count {
                    skip -= count;
                    continue;
                }
            }
            loop {
                let want = limit - found.executions.len();
                let got = self
                    .records
                    .executions_page(id, after.as_deref(), skip, want)
                    .await?;
                skip = 0;
                found.executions.extend(got.executions);
                after = got.next_cursor;
                if after.is_none() || found.executions.len() >= limit {
                    break;
                }
            }
            if found.executions.len() >= limit {
                let next = match (after, ids.get(n + 1)) {
                    (Some(within), _) => Some(format!("{id}{SEPARATOR}{within}")),
                    (None, Some(following)) => Some(format!("{following}{SEPARATOR}")),
                    (None, None) => None,
                };
                found.next_cursor = next.map(|k| paging::cursor_after(&k)).unwrap_or_default();
                break;
            }
        }
        Ok(found)
    }
}
