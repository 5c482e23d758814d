//! The two indexes of executions, written with each execution in one atomic step (see
//! [`entries`]): the order in which an actor's executions were accepted, which pages of a
//! listing and the retention purge walk, and the executions not yet ended, which is all the
//! stuck-execution sweep reads. Entries whose execution has gone are dropped as they are met.

use crate::{
    error::{AbacoError, Result},
    pb,
    records::{Records, child_key, decode},
    status,
    store::{Expect, Table},
    time,
};
use bytes::Bytes;
use futures::Stream;
use prost::Message;

/// Digits of the acceptance time in an order key: milliseconds since the epoch, zero-padded
/// so that keys sort by time (good until the year 2286).
const MILLIS_DIGITS: usize = 13;

/// One page of an actor's executions, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ExecutionPage {
    /// The executions of the page.
    pub executions: Vec<pb::Execution>,
    /// Where the next page starts, when one may follow.
    pub next_cursor: Option<String>,
}

/// One entry of an actor's acceptance order, with its execution if it is still there.
#[derive(Debug, Clone)]
pub struct Ordered {
    /// When the execution was accepted, in milliseconds since the epoch.
    pub accepted_ms: u64,
    /// The execution; `None` once it has gone (its entry is then dropped).
    pub execution: Option<pb::Execution>,
}

/// The index entries of an execution, for [`Records::insert_guarded`]'s `also`: an ended
/// one is not open.
pub fn entries(execution: &pb::Execution) -> Vec<(Table, String)> {
    let mut entries = vec![(Table::ExecutionOrder, order_key_of(execution))];
    if !status::execution_is_final(execution.status()) {
        entries.push((
            Table::OpenExecutions,
            child_key(&execution.actor_id, &execution.id),
        ));
    }
    entries
}

/// When an execution was accepted, in milliseconds since the epoch: its received time, which
/// has millisecond precision (0 for a record without one).
fn accepted_ms(execution: &pb::Execution) -> u64 {
    time::parse(&execution.message_received_time)
        .and_then(|at| u64::try_from(at.timestamp_millis()).ok())
        .unwrap_or(0)
}

fn order_key_of(execution: &pb::Execution) -> String {
    order_key(&execution.actor_id, accepted_ms(execution), &execution.id)
}

fn order_key(actor_id: &str, accepted_ms: u64, execution_id: &str) -> String {
    format!(
        "{actor_id}/{accepted_ms:0width$}/{execution_id}",
        width = MILLIS_DIGITS
    )
}

/// The acceptance time and execution id of an order key.
fn parse_order_key(key: &str) -> Option<(u64, &str)> {
    let mut parts = key.rsplitn(3, '/');
    let execution_id = parts.next()?;
    let millis = parts.next()?;
    (millis.len() == MILLIS_DIGITS)
        .then(|| millis.parse().ok())
        .flatten()
        .map(|millis| (millis, execution_id))
}

/// What a listing hands out to continue after `order_key`: the key without the actor, with a
/// dot in place of the slash, so that it needs no escaping in a query string.
fn cursor_of(actor_id: &str, order_key: &str) -> Option<String> {
    order_key
        .strip_prefix(actor_id)?
        .strip_prefix('/')
        .map(|rest| rest.replacen('/', ".", 1))
}

/// The order key a cursor of `actor_id`'s listing stands for; a clear error for anything
/// that is not such a cursor.
fn key_of_cursor(actor_id: &str, cursor: &str) -> Result<String> {
    let invalid = || {
        AbacoError::Invalid(format!(
            "cursor {cursor:?} is not one this listing handed out"
        ))
    };
    let (millis, execution_id) = cursor.split_once('.').ok_or_else(invalid)?;
    let well_formed = millis.len() == MILLIS_DIGITS
        && millis.bytes().all(|b| b.is_ascii_digit())
        && !execution_id.is_empty()
        && execution_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return Err(invalid());
    }
    Ok(format!("{actor_id}/{millis}/{execution_id}"))
}

impl Records {
    /// A page of `actor_id`'s executions in the order they were accepted: after `cursor`
    /// (from the first when `None`), passing over `skip`, at most `limit`.
    pub async fn executions_page(
        &self,
        actor_id: &str,
        cursor: Option<&str>,
        skip: usize,
        limit: usize,
    ) -> Result<ExecutionPage> {
        let after = cursor.map(|c| key_of_cursor(actor_id, c)).transpose()?;
        let (ordered, next) = self
            .execution_order(actor_id, after.as_deref(), (skip, limit), None)
            .await?;
        Ok(ExecutionPage {
            executions: ordered.into_iter().filter_map(|o| o.execution).collect(),
            next_cursor: next.and_then(|key| cursor_of(actor_id, &key)),
        })
    }

    /// Entries of `actor_id`'s acceptance order after the order key `after`, accepted no
    /// later than `until_ms` (when given: the walk ends at the first one after it), with
    /// their executions (in one read), and the key the next page starts after. Entries whose
    /// execution has gone are removed.
    pub async fn execution_order(
        &self,
        actor_id: &str,
        after: Option<&str>,
        (skip, limit): (usize, usize),
        until_ms: Option<u64>,
    ) -> Result<(Vec<Ordered>, Option<String>)> {
        let prefix = format!("{actor_id}/");
        let mut page = self
            .store()
            .scan_page(Table::ExecutionOrder, &prefix, after, skip, limit.max(1))
            .await?;
        let mut parsed: Vec<(String, u64, String)> = page
            .entries
            .into_iter()
            .filter_map(|(key, _)| {
                let (millis, id) = parse_order_key(&key)?;
                let id = id.to_owned();
                Some((key, millis, id))
            })
            .collect();
        if let Some(until) = until_ms
            && let Some(later) = parsed.iter().position(|(_, millis, _)| *millis > until)
        {
            parsed.truncate(later);
            page.next = None;
        }
        let keys: Vec<String> = parsed
            .iter()
            .map(|(_, _, id)| child_key(actor_id, id))
            .collect();
        let found = self.store().get_many(Table::Executions, &keys).await?;
        let mut ordered = Vec::with_capacity(parsed.len());
        for ((order_key, accepted, _), (key, found)) in
            parsed.into_iter().zip(keys.iter().zip(found))
        {
            let execution = match found {
                Some(found) => Some(decode::<pb::Execution>(
                    Table::Executions,
                    key,
                    &found.value,
                )?),
                None => None,
            }
            // An execution made again under the same id (a dead letter replayed) has a new
            // entry; the old one is stale.
            .filter(|execution| accepted_ms(execution) == accepted);
            if execution.is_none() {
                // Written in one step with its execution, so the execution went (removed, or
                // taken back when its message could not be sent) or was made again after it.
                self.store()
                    .delete(Table::ExecutionOrder, &order_key)
                    .await?;
            }
            ordered.push(Ordered {
                accepted_ms: accepted,
                execution,
            });
        }
        Ok((ordered, page.next))
    }

    /// How many executions `actor_id` has, without reading them (an entry of one removed a
    /// moment ago may still count).
    pub async fn count_executions(&self, actor_id: &str) -> Result<u64> {
        Ok(self
            .store()
            .count_prefix(Table::ExecutionOrder, &format!("{actor_id}/"))
            .await?)
    }

    /// The executions not yet ended, of one actor (`Some`) or of every actor, `batch` at a time
    /// (one store read of the set and one of the records per batch). Entries of executions
    /// that have gone or ended are removed as they are met; a swept execution keeps its entry,
    /// since its message may still run it.
    pub fn open_pages<'a>(
        &'a self,
        actor_id: Option<&'a str>,
        batch: usize,
    ) -> impl Stream<Item = Result<Vec<pb::Execution>>> + Send + 'a {
        // The state is where the next batch starts; `None` once the last was read.
        futures::stream::try_unfold(Some(None::<String>), move |state| async move {
            let Some(after) = state else {
                return Ok(None);
            };
            let (open, next) = self
                .open_executions(actor_id, after.as_deref(), batch)
                .await?;
            Ok(Some((open, next.map(Some))))
        })
    }

    /// One batch of [`Records::open_pages`], after the key `after`, and the key the next one
    /// starts after.
    async fn open_executions(
        &self,
        actor_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<pb::Execution>, Option<String>)> {
        let prefix = actor_id.map(|id| format!("{id}/")).unwrap_or_default();
        let page = self
            .store()
            .scan_page(Table::OpenExecutions, &prefix, after, 0, limit.max(1))
            .await?;
        let keys: Vec<String> = page.entries.into_iter().map(|(key, _)| key).collect();
        let found = self.store().get_many(Table::Executions, &keys).await?;
        let mut open = Vec::with_capacity(keys.len());
        for (key, found) in keys.iter().zip(found) {
            let execution = match found {
                Some(found) => decode::<pb::Execution>(Table::Executions, key, &found.value)?,
                None => {
                    self.store().delete(Table::OpenExecutions, key).await?;
                    continue;
                }
            };
            if status::execution_is_final(execution.status()) && !execution.swept {
                self.store().delete(Table::OpenExecutions, key).await?;
                continue;
            }
            open.push(execution);
        }
        Ok((open, page.next))
    }

    /// Writes the index entries of every execution stored before the indexes existed, once
    /// per store (a mark in `Meta` says it is done); how many executions it indexed. Reads
    /// every execution, which is why it runs only the once.
    pub async fn index_executions_once(&self) -> Result<usize> {
        const MARK: &str = "execution-indexes";
        if self.store().get(Table::Meta, MARK).await?.is_some() {
            return Ok(0);
        }
        let executions: Vec<pb::Execution> = self.list(Table::Executions, "").await?;
        for execution in &executions {
            for (table, key) in entries(execution) {
                self.store()
                    .put(table, &key, Bytes::new(), Expect::Any, None)
                    .await?;
            }
        }
        self.store()
            .put(
                Table::Meta,
                MARK,
                Bytes::from_static(b"1"),
                Expect::Any,
                None,
            )
            .await?;
        Ok(executions.len())
    }

    /// Ends `execution` ERROR with `reason`, marked swept (its message may still come and run
    /// it), judged on the record as it was read: one whose status, owner or sweep mark changed
    /// since (a worker claimed or ended it) is left alone. The record, if this call ended it.
    pub async fn end_swept(
        &self,
        execution: &pb::Execution,
        reason: &str,
    ) -> Result<Option<pb::Execution>> {
        let key = child_key(&execution.actor_id, &execution.id);
        let mut ended_here = false;
        let record = self
            .update(Table::Executions, &key, |e: &mut pb::Execution| {
                ended_here = e.status() == execution.status()
                    && e.worker_id == execution.worker_id
                    && e.swept == execution.swept;
                if ended_here {
                    e.set_status(pb::ExecutionStatus::Error);
                    e.swept = true;
                    e.status_message = reason.to_owned();
                    e.finish_time = time::now();
                }
                Ok(ended_here)
            })
            .await?;
        Ok(ended_here.then_some(record))
    }

    /// Drops `actor_id`'s execution `execution_id` from the executions not yet ended, once
    /// its final record is written.
    pub async fn close_execution(&self, actor_id: &str, execution_id: &str) -> Result<()> {
        self.store()
            .delete(Table::OpenExecutions, &child_key(actor_id, execution_id))
            .await?;
        Ok(())
    }

    /// Removes an execution and everything kept of it: its logs, results and index entries.
    /// Only as `execution` was read: a record written since is left alone (`false`).
    pub async fn remove_execution(&self, execution: &pb::Execution) -> Result<bool> {
        let key = child_key(&execution.actor_id, &execution.id);
        let belongings = [
            (Table::Logs, key.clone()),
            (Table::Results, key.clone()),
            (Table::OpenExecutions, key.clone()),
            (Table::ExecutionOrder, order_key_of(execution)),
        ];
        Ok(self
            .store()
            .delete_if_value(
                Table::Executions,
                &key,
                &execution.encode_to_vec(),
                &belongings,
            )
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_by_time_and_round_trip_through_cursors() {
        let early = order_key("0actor", 1_700_000_000_000, "0zzzz");
        let late = order_key("0actor", 1_700_000_000_001, "0aaaa");
        assert!(early < late);
        assert_eq!(parse_order_key(&late), Some((1_700_000_000_001, "0aaaa")));
        let cursor = cursor_of("0actor", &late).unwrap();
        assert!(!cursor.contains('/'));
        assert_eq!(key_of_cursor("0actor", &cursor).unwrap(), late);
    }

    #[test]
    fn foreign_cursors_are_refused() {
        for bad in [
            "",
            "abc",
            "12.x",
            "1700000000000.",
            "1700000000000.a/b",
            "../x",
        ] {
            assert!(key_of_cursor("0actor", bad).is_err(), "{bad:?}");
        }
    }
}
