//! The fleet: whatever keeps an actor's workers in line with its record. Registration, messages
//! and admin tell it what changed; the spawner-backed implementation lives in
//! `services/spawner`. [`NoFleet`] runs no workers at all, for components that only keep records.

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::{error::Result, pb};

/// Output of a run as it comes, until the run ends.
pub type LogStream = BoxStream<'static, Result<String>>;

/// Keeps workers in line with the actors' records.
#[async_trait]
pub trait Fleet: Send + Sync + std::fmt::Debug + 'static {
    /// An actor was registered or updated: start its first worker, or replace workers of an
    /// older revision.
    async fn actor_changed(&self, actor: &pb::Actor) -> Result<()>;

    /// An actor is being deleted: stop its workers.
    async fn actor_deleted(&self, actor_id: &str) -> Result<()>;

    /// A message was accepted for an actor: make sure a worker will take it.
    async fn message_accepted(&self, actor_id: &str) -> Result<()>;

    /// Make sure the actor has at least `num` workers; the workers it has afterwards.
    async fn ensure_workers(&self, actor_id: &str, num: u32) -> Result<Vec<pb::Worker>>;

    /// Stop one worker after its current run.
    async fn stop_worker(&self, actor_id: &str, worker_id: &str) -> Result<pb::Worker>;

    /// Ask the worker running `execution` to end it now; whether the worker had it.
    async fn force_quit(&self, execution: &pb::Execution) -> Result<bool>;

    /// The output of the run of `execution` as it comes, from the worker running it; `None`
    /// when no live worker has it.
    async fn follow_logs(&self, execution: &pb::Execution) -> Result<Option<LogStream>>;
}

/// A fleet that starts nothing: actors stay SUBMITTED and messages wait in their mailboxes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFleet;

#[async_trait]
impl Fleet for NoFleet {
    async fn actor_changed(&self, _actor: &pb::Actor) -> Result<()> {
        Ok(())
    }

    async fn actor_deleted(&self, _actor_id: &str) -> Result<()> {
        Ok(())
    }

    async fn message_accepted(&self, _actor_id: &str) -> Result<()> {
        Ok(())
    }

    async fn ensure_workers(&self, _actor_id: &str, _num: u32) -> Result<Vec<pb::Worker>> {
        Err(crate::AbacoError::Unavailable(
            "no spawner is configured for this platform".into(),
        ))
    }

    async fn stop_worker(&self, actor_id: &str, worker_id: &str) -> Result<pb::Worker> {
        Err(crate::AbacoError::not_found(
            "worker",
            format!("{actor_id}/{worker_id}"),
        ))
    }

    async fn force_quit(&self, _execution: &pb::Execution) -> Result<bool> {
        Ok(false)
    }

    async fn follow_logs(&self, _execution: &pb::Execution) -> Result<Option<LogStream>> {
        Ok(None)
    }
}
