//! The scheduler: a pass every `interval` over the actors with a schedule, sending each tick
//! that has come and moving `cronNextEx` on.

use std::{collections::HashMap, time::Duration};

use abaco::{AbacoError, Result, ids, pb, records::Records, store::Table};
use abaco_intake::{Incoming, Intake};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::schedule::{Due, Schedule, format_hour, parse_hour};

/// The message of a tick, as abaco sends it.
pub const CRON_MESSAGE: &str = "This is your cron execution";
/// Who a tick's run is from (its executor and `_abaco_username`).
pub const CRON_EXECUTOR: &str = "cron";

/// Lease under which one scheduler makes a pass; the others skip theirs meanwhile.
const PASS_LEASE: &str = "cron/pass";

/// Sends actors their ticks.
#[derive(Debug, Clone)]
pub struct Scheduler {
    records: Records,
    intake: Intake,
    interval: Duration,
}

impl Scheduler {
    /// A scheduler looking every `interval`.
    pub fn new(records: Records, intake: Intake, interval: Duration) -> Self {
        Self {
            records,
            intake,
            interval,
        }
    }

    /// Makes a pass every `interval` until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.pass(Utc::now()).await {
                Ok(0) => {}
                Ok(sent) => tracing::info!(sent, "cron ticks sent"),
                Err(error) => tracing::warn!(%error, "cron pass failed"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One pass at `now`, unless another scheduler made one within `interval`; the ticks sent.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<usize> {
        // Held for the whole interval on purpose: the next pass anywhere is one interval on.
        if self
            .records
            .try_lease(PASS_LEASE, self.interval)
            .await?
            .is_none()
        {
            return Ok(0);
        }
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        let mut sent = 0;
        for actor in actors {
            if actor.cron_schedule.is_empty() || actor.status() == pb::ActorStatus::ShuttingDown {
                continue;
            }
            match self.tick(&actor, now).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(actor = %actor.id, %error, "cron tick not sent; tried again at the next pass");
                }
            }
        }
        Ok(sent)
    }

    /// Sends `actor` its tick if one has come; whether it sent one.
    async fn tick(&self, actor: &pb::Actor, now: DateTime<Utc>) -> Result<bool> {
        let (Ok(schedule), Some(next)) = (
            Schedule::parse(&actor.cron_schedule),
            parse_hour(&actor.cron_next_ex),
        ) else {
            // Checked when it was stored; nothing to go by if it was not.
            return Ok(false);
        };
        let Due::Fire {
            tick,
            skipped,
            next: after,
        } = schedule.due(next, now)
        else {
            return Ok(false);
        };
        if skipped > 0 {
            tracing::warn!(actor = %actor.id, skipped, tick = %format_hour(tick), "cron ticks missed while no scheduler ran; sending only the latest");
        }
        let mut sent = false;
        if actor.cron_on {
            sent = self.send(actor, &format_hour(tick)).await?;
        }
        // Moved on only after the tick went: a crash in between sends it again, and its
        // execution id makes that second send a no-op.
        let expected = actor.cron_next_ex.clone();
        let moved = format_hour(after);
        self.records
            .update(Table::Actors, &actor.id, |a: &mut pb::Actor| {
                if a.cron_next_ex != expected {
                    return Ok(false);
                }
                a.cron_next_ex.clone_from(&moved);
                Ok(true)
            })
            .await?;
        Ok(sent)
    }

    /// Sends the message of tick `tick`; `false` if it was sent before.
    async fn send(&self, actor: &pb::Actor, tick: &str) -> Result<bool> {
        let incoming = Incoming {
            actor_id: actor.id.clone(),
            body: CRON_MESSAGE.as_bytes().to_vec(),
            content_type: "str".into(),
            environment: HashMap::new(),
            executor: CRON_EXECUTOR.into(),
            execution_id: Some(ids::derived_id(&format!("{}/cron/{tick}", actor.id))),
            trace_context: HashMap::new(),
        };
        match self.intake.accept(incoming).await {
            Ok(accepted) => {
                tracing::info!(actor = %actor.id, %tick, execution = %accepted.execution.id, "cron tick sent");
                Ok(true)
            }
            Err(AbacoError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }
}
