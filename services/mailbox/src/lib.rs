//! Mailbox backends: embedded durable queues (redb) and RabbitMQ (lapin).
//!
//! Both implement [`abaco::mailbox::Mailboxes`] with one behaviour; [`open_embedded`] and
//! [`open_distributed`] open them as the settings say.

mod amqp;
mod file;
mod legacy;

use std::{sync::Arc, time::Duration};

use abaco::mailbox::{MailboxError, Mailboxes};
use abaco::settings::Settings;
use abaco_store::RedbStore;

pub use amqp::{
    AmqpMailboxes, AmqpTimings, CONNECT_TIMEOUT, DEFAULT_PREFIX, RESUBSCRIBE_FOR,
    ROUND_TRIP_TIMEOUT,
};
pub use file::FileMailboxes;

/// Where the embedded mailboxes had a file of their own, under `data_dir`.
const LEGACY_FILE: &str = "mailboxes.redb";

/// The embedded mailboxes of `abaco up`, inside the file of `store`; the messages of an old
/// `data_dir/mailboxes.redb` (where they had a file of their own) are moved in first.
pub async fn open_embedded(
    settings: &Settings,
    store: &RedbStore,
) -> Result<Arc<dyn Mailboxes>, MailboxError> {
    let legacy = settings.data_dir.join(LEGACY_FILE);
    Ok(Arc::new(FileMailboxes::within(store, Some(&legacy)).await?))
}

/// The distributed mailboxes: the RabbitMQ broker at `amqp_url`, with queues named
/// `{namespace}.actor.{actor_id}`.
pub async fn open_distributed(settings: &Settings) -> Result<Arc<dyn Mailboxes>, MailboxError> {
    let prefix = format!("{}.actor.", settings.namespace);
    let timings = AmqpTimings {
        round_trip: Duration::from_secs(settings.amqp_round_trip_timeout_secs),
        connect: Duration::from_secs(settings.amqp_connect_timeout_secs),
        resubscribe_for: Duration::from_secs(settings.amqp_resubscribe_secs),
    };
    Ok(Arc::new(
        AmqpMailboxes::connect_with_timings(&settings.amqp_url, &prefix, timings).await?,
    ))
}
