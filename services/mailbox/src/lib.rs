//! Mailbox backends: embedded durable queues (redb) and RabbitMQ (lapin).
//!
//! Both implement [`abaco::mailbox::Mailboxes`] with one behaviour; [`open`] picks the one the
//! settings ask for.

mod amqp;
mod file;
mod legacy;

use std::{sync::Arc, time::Duration};

use abaco::mailbox::{MailboxError, Mailboxes};
use abaco::settings::{Backend, Settings};
use abaco_store::RedbStore;

pub use amqp::{
    AmqpMailboxes, AmqpTimings, CONNECT_TIMEOUT, DEFAULT_PREFIX, RESUBSCRIBE_FOR,
    ROUND_TRIP_TIMEOUT,
};
pub use file::FileMailboxes;

/// Where the embedded mailboxes had a file of their own, under `data_dir`.
const LEGACY_FILE: &str = "mailboxes.redb";

/// Opens the mailboxes the settings ask for: when embedded, inside the file of `store` (an
/// old `data_dir/mailboxes.redb` is moved in), or without one in that file of their own; the
/// RabbitMQ broker at `amqp_url` when distributed, with queues named
/// `{namespace}.actor.{actor_id}`.
pub async fn open(
    settings: &Settings,
    store: Option<&RedbStore>,
) -> Result<Arc<dyn Mailboxes>, MailboxError> {
    Ok(match settings.backend {
        Backend::Embedded => {
            let legacy = settings.data_dir.join(LEGACY_FILE);
            match store {
                Some(store) => Arc::new(FileMailboxes::within(store, Some(&legacy)).await?),
                None => {
                    tokio::fs::create_dir_all(&settings.data_dir)
                        .await
                        .map_err(|e| MailboxError::Backend(format!("create data dir: {e}")))?;
                    Arc::new(FileMailboxes::open(&legacy).await?)
                }
            }
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
