//! Delivering: events taken from the outbox, several at a time, each acked once its link and
//! webhook are done with. Whatever happens to the deliverer before that, the event comes back.

use std::{sync::Arc, time::Duration};

use abaco::{mailbox::Mailboxes, secret::Secret};
use abaco_auth::Access;
use abaco_intake::Intake;
use backon::{ExponentialBuilder, Retryable};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    address::shown,
    event::{Envelope, OUTBOX},
    link::{LinkError, Links},
    webhook::Webhooks,
};

/// How events are delivered.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Most POSTs of one event to a webhook (the first included).
    pub webhook_attempts: u32,
    /// Longest one POST may take, connecting included.
    pub webhook_timeout: Duration,
    /// First pause before trying again; it doubles each time...
    pub backoff_min: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// Key of the `X-Abaco-Signature` HMAC; without one, POSTs are not signed.
    pub webhook_secret: Option<Secret>,
    /// Events delivered at once.
    pub concurrency: u16,
    /// Whether webhooks may point at loopback, private and link-local addresses.
    pub webhook_private_addresses: bool,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            webhook_attempts: 5,
            webhook_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            webhook_secret: None,
            concurrency: 16,
            webhook_private_addresses: false,
        }
    }
}

/// Why a deliverer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The HTTP client for webhooks could not be built.
    #[error("webhook client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Takes events from the outbox and delivers them.
#[derive(Debug, Clone)]
pub struct Deliverer {
    mailboxes: Arc<dyn Mailboxes>,
    links: Links,
    webhooks: Webhooks,
    settings: DeliverySettings,
}

impl Deliverer {
    /// A deliverer sending linked actors their events through `intake`, as their owners
    /// (checked with `access`).
    pub fn new(
        intake: Intake,
        access: Access,
        settings: DeliverySettings,
    ) -> Result<Self, SetupError> {
        Ok(Self {
            mailboxes: intake.mailboxes().clone(),
            links: Links::new(intake, access),
            webhooks: Webhooks::new(&settings)?,
            settings,
        })
    }

    /// Delivers until `stop`. Events being delivered then are dropped unacked: the outbox
    /// hands them out again, here or to another deliverer.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.consume(&stop).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, "event outbox unavailable; trying again");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.settings.backoff_min) => {}
            }
        }
    }

    async fn consume(&self, stop: &CancellationToken) -> Result<(), abaco::mailbox::MailboxError> {
        self.mailboxes.create(OUTBOX).await?;
        let mut consumer = self
            .mailboxes
            .consume(OUTBOX, self.settings.concurrency.max(1))
            .await?;
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                Some(_) = running.join_next(), if !running.is_empty() => {}
                next = consumer.next() => {
                    let Some(delivery) = next? else {
                        return Err(abaco::mailbox::MailboxError::Closed);
                    };
                    let this = self.clone();
                    running.spawn(async move { this.settle(delivery).await });
                }
            }
        }
    }

    /// Delivers one event and settles it: acked once done with, given back when the platform
    /// itself failed (it is tried again later).
    async fn settle(self, delivery: abaco::mailbox::Delivery) {
        let envelope: Envelope = match serde_json::from_slice(&delivery.body) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(%error, bytes = delivery.body.len(), "unreadable event dropped");
                log_settle(delivery.reject(false).await);
                return;
            }
        };
        if !self.deliver(&envelope).await {
            tokio::time::sleep(self.settings.backoff_max).await;
            log_settle(delivery.reject(true).await);
            return;
        }
        log_settle(delivery.ack().await);
    }

    /// Delivers `envelope` to its link, then its webhook; `false` when it must be tried again
    /// later (the link's message could not be accepted by this platform).
    async fn deliver(&self, envelope: &Envelope) -> bool {
        let event = envelope.event_type.name();
        if !envelope.link.is_empty() {
            match self.link(envelope).await {
                Ok(Some(execution)) => {
                    tracing::info!(event = %envelope.id, event_type = event, linked = %envelope.link, %execution, "event sent to linked actor");
                }
                Ok(None) => {
                    tracing::debug!(event = %envelope.id, "event was sent to the linked actor before");
                }
                Err(LinkError::Undeliverable(why)) => {
                    tracing::warn!(event = %envelope.id, event_type = event, actor = %envelope.actor_id, %why, "event not sent to linked actor");
                }
                Err(LinkError::Transient(error)) => {
                    tracing::warn!(event = %envelope.id, %error, "event not sent to linked actor yet; it goes back to the outbox");
                    return false;
                }
            }
        }
        if !envelope.webhook.is_empty() {
            match self.webhooks.deliver(envelope).await {
                Ok(attempts) => {
                    tracing::info!(event = %envelope.id, event_type = event, webhook = %shown(&envelope.webhook), attempts, "event posted to webhook");
                }
                Err(reason) => {
                    tracing::error!(event = %envelope.id, event_type = event, actor = %envelope.actor_id, webhook = %shown(&envelope.webhook), %reason, attempts = self.settings.webhook_attempts, "webhook did not take the event; dropped");
                }
            }
        }
        true
    }

    async fn link(&self, envelope: &Envelope) -> Result<Option<String>, LinkError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.backoff_min)
            .with_max_delay(self.settings.backoff_max)
            .with_max_times(self.settings.webhook_attempts.saturating_sub(1) as usize);
        (|| self.links.deliver(envelope))
            .retry(backoff)
            .when(|error| matches!(error, LinkError::Transient(_)))
            .await
    }
}

fn log_settle(result: Result<(), abaco::mailbox::MailboxError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "could not settle an event; it will come back");
    }
}
