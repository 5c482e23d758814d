//! Mailbox backends: embedded durable queues (redb) and RabbitMQ (lapin).
//!
//! Both implement [`abaco::mailbox::Mailboxes`] with one behaviour; [`open`] picks the one the
//! settings ask for.

mod amqp;
mod file;

use std::{sync::Arc, time::Duration};

use abaco::mailbox::{MailboxError, Mailboxes};
use abaco::settings::{Backend, Settings};

pub use amqp::{
    AmqpMailboxes, AmqpTimings, CONNECT_TIMEOUT, DEFAULT_PREFIX, RESUBSCRIBE_FOR,
    ROUND_TRIP_TIMEOUT,
};
pub use file::FileMailboxes;

/// Opens the mailboxes the settings ask for: a file under `data_dir` when embedded, the
/// RabbitMQ broker at `amqp_url` when distributed, with queues named
/// `{namespace}.actor.{actor_id}`.
pub async fn open(settings: &Settings) -> Result<Arc<dyn Mailboxes>, MailboxError> {
    Ok(match settings.backend {
        Backend::Embedded => {
            tokio::fs::create_dir_all(&settings.data_dir)
                .await
                .map_err(|e| MailboxError::Backend(format!("create data dir: {e}")))?;
            Arc::new(FileMailboxes::open(&settings.data_dir.join("mailboxes.redb")).await?)
        }
        Backend::Distributed => {
            let prefix = format!("{}.actor.", settings.namespace);
            let timings = AmqpTimings {
                round_trip: Duration::from_secs(settings.amqp_round_trip_timeout_secs),
                connect: Duration::from_secs(settings.amqp_connect_timeout_secs),
                resubscribe_for: Duration::from_secs(settings.amqp_resubscribe_secs),
            };
            Arc::new(
                AmqpMailboxes::connect_with_timings(&settings.amqp_url, &prefix, timings).await?,
            )
        }
    })
}
