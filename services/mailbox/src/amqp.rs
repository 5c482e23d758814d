//! Mailboxes on RabbitMQ: one durable queue per actor, persistent messages, publisher
//! confirms, one channel per consumer with manual acks.
//!
//! Broker restarts are handled here rather than by lapin's auto-recovery: every call checks
//! the shared connection and opens a new one when it is gone, and a consumer whose channel
//! broke subscribes again. That keeps the failure modes plain: a call made while the broker
//! is down fails; the next one after it is back works.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use abaco::mailbox::{Acker, Consumer, Delivery, MailboxError, Mailboxes, Published};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions, QueuePurgeOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind};

/// Queue name prefix used by [`AmqpMailboxes::connect`].
pub const DEFAULT_PREFIX: &str = "abaco.actor.";

/// How long one connection attempt may take before it counts as failed, unless set.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest AMQP frame we offer, unless the URL asks for another (`?frame_max=`). lapin
/// keeps two zero-filled buffers of 32 frames each per connection, so the broker's usual
/// 128 KiB frames cost every process 8 MiB; at 16 KiB they cost 1 MiB, and a larger message
/// is merely carried in several frames.
const FRAME_MAX: u32 = 16 * 1024;

/// How long one broker round trip (open a channel, declare, publish and confirm, ...) may
/// take. A broker that accepted the connection but no longer answers would otherwise hold the
/// caller forever; past this the link counts as broken and the next call makes a new one.
pub const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a consumer keeps trying to resubscribe before `next` reports the error, unless
/// set.
pub const RESUBSCRIBE_FOR: Duration = Duration::from_secs(60);

/// How patient the mailboxes are with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmqpTimings {
    /// Longest one broker round trip may take (see [`ROUND_TRIP_TIMEOUT`]).
    pub round_trip: Duration,
    /// Longest one connection attempt may take (at most `round_trip`).
    pub connect: Duration,
    /// How long a consumer whose channel broke keeps trying to subscribe again.
    pub resubscribe_for: Duration,
}

impl Default for AmqpTimings {
    fn default() -> Self {
        Self {
            round_trip: ROUND_TRIP_TIMEOUT,
            connect: CONNECT_TIMEOUT,
            resubscribe_for: RESUBSCRIBE_FOR,
        }
    }
}

/// Mailboxes as durable RabbitMQ queues named `{prefix}{actor_id}`.
#[derive(Debug)]
pub struct AmqpMailboxes {
    shared: Arc<Shared>,
}

struct Shared {
    url: Secret,
    prefix: String,
    /// The link, read without queueing: at thousands of publishes a second, an async mutex
    /// taken for each one cost a task wake-up each.
    current: std::sync::RwLock<Option<Link>>,
    /// Held while the link is mended, so one call reconnects and the others wait for it.
    reconnecting: tokio::sync::Mutex<()>,
    /// Queues declared on the current connection, so publish declares each once.
    declared: Mutex<HashSet<String>>,
    next_tag: AtomicU64,
    round_trip_timeout: Duration,
    connect_timeout: Duration,
    resubscribe_for: Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpMailboxes")
            .field("url", &self.url.shown)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The broker URL, and what of it may be shown.
struct Secret {
    url: String,
    /// The URL with its password masked.
    shown: String,
    password: Option<String>,
}

impl Secret {
    fn new(url: &str) -> Self {
        let (shown, password) = match url.split_once("://") {
            Some((scheme, rest)) => {
                let authority_end = rest.find('/').unwrap_or(rest.len());
                match rest[..authority_end].rsplit_once('@') {
                    Some((userinfo, host)) => {
                        let (user, password) = match userinfo.split_once(':') {
                            Some((u, p)) => (u, Some(p.to_owned())),
                            None => (userinfo, None),
                        };
                        let masked = if password.is_some() { ":***" } else { "" };
                        (
                            format!("{scheme}://{user}{masked}@{host}{}", &rest[authority_end..]),
                            password,
                        )
                    }
                    None => (url.to_owned(), None),
                }
            }
            None => ("<unparsable amqp url>".to_owned(), None),
        };
        Self {
            url: url.to_owned(),
            shown,
            password: password.filter(|p| !p.is_empty()),
        }
    }

    /// Makes sure no part of the credentials reaches an error or a log line.
    fn scrub(&self, text: String) -> String {
        let text = text.replace(&self.url, &self.shown);
        match &self.password {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text,
        }
    }
}

/// The shared connection and its confirm-mode publishing channel.
#[derive(Clone)]
struct Link {
    conn: Arc<Connection>,
    publisher: Channel,
}

fn is_not_found(err: &lapin::Error) -> bool {
    matches!(err.kind(), ErrorKind::ProtocolError(e)
        if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

impl AmqpMailboxes {
    /// Connects to the broker at `url`; queues are named `abaco.actor.{actor_id}`.
    pub async fn connect(url: &str) -> Result<Self, MailboxError> {
        Self::connect_with_prefix(url, DEFAULT_PREFIX).await
    }

    /// Connects to the broker at `url`; queues are named `{prefix}{actor_id}`, so several
    /// platforms or test runs can share one broker.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, MailboxError> {
        Self::connect_with_timeout(url, prefix, ROUND_TRIP_TIMEOUT).await
    }

    /// [`Self::connect_with_prefix`], giving up on any broker round trip after
    /// `round_trip_timeout` instead of [`ROUND_TRIP_TIMEOUT`].
    pub async fn connect_with_timeout(
        url: &str,
        prefix: &str,
        round_trip_timeout: Duration,
    ) -> Result<Self, MailboxError> {
        let timings = AmqpTimings {
            round_trip: round_trip_timeout,
            ..AmqpTimings::default()
        };
        Self::connect_with_timings(url, prefix, timings).await
    }

    /// [`Self::connect_with_prefix`] with these timings.
    pub async fn connect_with_timings(
        url: &str,
        prefix: &str,
        timings: AmqpTimings,
    ) -> Result<Self, MailboxError> {
        let shared = Arc::new(Shared {
            url: Secret::new(url),
            prefix: prefix.to_owned(),
            current: std::sync::RwLock::new(None),
            reconnecting: tokio::sync::Mutex::new(()),
            declared: Mutex::new(HashSet::new()),
            next_tag: AtomicU64::new(1),
            round_trip_timeout: timings.round_trip,
            connect_timeout: timings.connect,
            resubscribe_for: timings.resubscribe_for,
        });
        // Fail early on a wrong URL or an unreachable broker.
        shared.link().await?;
        Ok(Self { shared })
    }

    /// The queue that holds `actor_id`'s mailbox.
    pub fn queue_name(&self, actor_id: &str) -> String {
        self.shared.queue(actor_id)
    }
}

impl Shared {
    fn queue(&self, actor_id: &str) -> String {
        format!("{}{actor_id}", self.prefix)
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> MailboxError {
        broker_error();
        MailboxError::Backend(self.url.scrub(format!("{what}: {e}")))
    }

    /// Awaits one broker round trip, at most `round_trip_timeout`: the outer error is the
    /// timeout, the inner one the broker's answer (some callers tell "not found" apart).
    async fn answer<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, lapin::Error>>,
    ) -> Result<Result<T, lapin::Error>, MailboxError> {
        match tokio::time::timeout(self.round_trip_timeout, call).await {
            Ok(answer) => Ok(answer),
            Err(_) => {
                tracing::warn!(url = %self.url.shown, what, "the broker did not answer; dropping the link");
                self.set_link(None);
                self.declared().clear();
                Err(self.err(what, "the broker did not answer in time"))
            }
        }
    }

    /// [`Self::answer`] with the broker's error made a [`MailboxError`] too.
    async fn round_trip<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, lapin::Error>>,
    ) -> Result<T, MailboxError> {
        self.answer(what, call)
            .await?
            .map_err(|e| self.err(what, e))
    }

    fn declared(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.declared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live connection and publishing channel, made anew when the old ones broke.
    async fn link(&self) -> Result<Link, MailboxError> {
        match self.live_link() {
            Some(link) => Ok(link),
            None => self.relink().await,
        }
    }

    fn live_link(&self) -> Option<Link> {
        self.current_link()
            .filter(|l| l.conn.status().connected() && l.publisher.status().connected())
    }

    fn current_link(&self) -> Option<Link> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_link(&self, link: Option<Link>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = link;
    }

    async fn relink(&self) -> Result<Link, MailboxError> {
        let _reconnecting = self.reconnecting.lock().await;
        // Another call may have mended the link while this one waited.
        if let Some(link) = self.live_link() {
            return Ok(link);
        }
        let link = match self.current_link() {
            Some(old) if old.conn.status().connected() => {
                // Only the channel died (a channel-level error): keep the connection, which
                // the consumers' channels share.
                let publisher = self.publisher(&old.conn).await?;
                Link {
                    conn: old.conn,
                    publisher,
                }
            }
            old => {
                if old.is_some() {
                    tracing::warn!(url = %self.url.shown, "AMQP connection lost; reconnecting");
                }
                self.set_link(None);
                self.declared().clear();
                let mut uri: AMQPUri = self
                    .url
                    .url
                    .parse()
                    .map_err(|e: String| self.err("amqp url", e))?;
                uri.query.frame_max.get_or_insert(FRAME_MAX);
                let conn = tokio::time::timeout(
                    self.connect_timeout.min(self.round_trip_timeout),
                    Connection::connect_uri(uri, ConnectionProperties::default()),
                )
                .await
                .map_err(|_| self.err("connect", "timed out"))?
                .map_err(|e| self.err("connect", e))?;
                let conn = Arc::new(conn);
                let publisher = self.publisher(&conn).await?;
                tracing::debug!(url = %self.url.shown, "AMQP connected");
                Link { conn, publisher }
            }
        };
        self.set_link(Some(link.clone()));
        Ok(link)
    }

    async fn publisher(&self, conn: &Connection) -> Result<Channel, MailboxError> {
        let channel = self
            .round_trip("open channel", conn.create_channel())
            .await?;
        self.round_trip(
            "confirm select",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        Ok(channel)
    }

    /// A short-lived channel for one management call, so a channel-closing error (404 on a
    /// passive declare) does not break the publishing channel.
    async fn scratch(&self) -> Result<Channel, MailboxError> {
        let link = self.link().await?;
        self.round_trip("open channel", link.conn.create_channel())
            .await
    }

    async fn declare(&self, channel: &Channel, queue: &str) -> Result<(), MailboxError> {
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        self.round_trip(
            "declare queue",
            channel.queue_declare(queue.into(), durable, FieldTable::default()),
        )
        .await?;
        self.declared().insert(queue.to_owned());
        Ok(())
    }

    /// Opens a consumer channel on `queue`; `Ok(None)` when the queue does not exist.
    async fn subscribe(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> Result<Option<Subscription>, MailboxError> {
        let link = self.link().await?;
        let channel = self
            .round_trip("open channel", link.conn.create_channel())
            .await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let checked = channel.queue_declare(queue.into(), passive, FieldTable::default());
        match self.answer("check queue", checked).await? {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.err("check queue", e)),
        }
        self.round_trip(
            "set prefetch",
            channel.basic_qos(prefetch, BasicQosOptions::default()),
        )
        .await?;
        let tag = format!(
            "abaco-{}-{}",
            std::process::id(),
            self.next_tag.fetch_add(1, Ordering::Relaxed)
        );
        let consume = channel.basic_consume(
            queue.into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        );
        let stream = self.round_trip("consume", consume).await?;
        Ok(Some(Subscription {
            _conn: link.conn,
            _channel: channel,
            stream,
        }))
    }
}

#[async_trait]
impl Mailboxes for AmqpMailboxes {
    async fn create(&self, actor_id: &str) -> Result<(), MailboxError> {
        let channel = self.shared.scratch().await?;
        self.shared
            .declare(&channel, &self.shared.queue(actor_id))
            .await
    }

    /// [`Published::Existing`] when the message was routed into the queue without this
    /// publish declaring it: the queue was there, so it is the actor's own or one made again
    /// by someone who checks the actor after making it (a declaring publish, or a worker's
    /// [`Mailboxes::consume`] after [`Mailboxes::create`]) and removes it if the actor is being
    /// deleted. Consumers never declare. [`Published::Created`] when this publish declared it.
    async fn publish(&self, actor_id: &str, message: Bytes) -> Result<Published, MailboxError> {
        let s = &self.shared;
        let queue = s.queue(actor_id);
        // Two rounds: the second one runs only when the queue vanished behind our cache
        // (deleted by another process) and the broker returned the message unrouted.
        for _ in 0..2 {
            let link = s.link().await?;
            let known = s.declared().contains(&queue);
            if !known {
                s.declare(&link.publisher, &queue).await?;
            }
            let publish = async {
                link.publisher
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        // Mandatory: an unroutable message comes back instead of vanishing.
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        &message,
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await?
                    .await
            };
            let confirm = s.round_trip("publish", publish).await?;
            match confirm {
                Confirmation::Ack(None) if known => return Ok(Published::Existing),
                Confirmation::Ack(None) => return Ok(Published::Created),
                Confirmation::Ack(Some(_)) => {
                    s.declared().remove(&queue);
                }
                Confirmation::Nack(_) | Confirmation::NotRequested => {
                    return Err(MailboxError::NotConfirmed);
                }
            }
        }
        Err(MailboxError::NotConfirmed)
    }

    async fn depth(&self, actor_id: &str) -> Result<u64, MailboxError> {
        let channel = self.shared.scratch().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = self.shared.queue(actor_id);
        let checked = channel.queue_declare(queue.as_str().into(), passive, FieldTable::default());
        match self.shared.answer("queue depth", checked).await? {
            Ok(q) => Ok(u64::from(q.message_count())),
            Err(e) if is_not_found(&e) => Ok(0),
            Err(e) => Err(self.shared.err("queue depth", e)),
        }
    }

    async fn purge(&self, actor_id: &str) -> Result<u64, MailboxError> {
        let channel = self.shared.scratch().await?;
        let queue = self.shared.queue(actor_id);
        let purged = channel.queue_purge(queue.as_str().into(), QueuePurgeOptions::default());
        match self.shared.answer("purge queue", purged).await? {
            Ok(n) => Ok(u64::from(n)),
            Err(e) if is_not_found(&e) => Ok(0),
            Err(e) => Err(self.shared.err("purge queue", e)),
        }
    }

    async fn delete(&self, actor_id: &str) -> Result<(), MailboxError> {
        let queue = self.shared.queue(actor_id);
        self.shared.declared().remove(&queue);
        let channel = self.shared.scratch().await?;
        let deleted = channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default());
        match self.shared.answer("delete queue", deleted).await? {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.shared.err("delete queue", e)),
        }
    }

    async fn consume(
        &self,
        actor_id: &str,
        prefetch: u16,
    ) -> Result<Box<dyn Consumer>, MailboxError> {
        let queue = self.shared.queue(actor_id);
        // Never declared here: a queue a consumer brought back after its actor's deletion
        // would pass for the actor's own to a publish that found it there.
        let sub = self
            .shared
            .subscribe(&queue, prefetch)
            .await?
            .ok_or(MailboxError::Closed)?;
        Ok(Box::new(AmqpConsumer {
            shared: self.shared.clone(),
            queue,
            prefetch,
            sub: Some(sub),
            ended: false,
        }))
    }
}

/// One consumer channel. Dropping it closes the channel, and the broker requeues whatever
/// it still held.
struct Subscription {
    /// Keeps the connection open while the channel is in use, even if the shared link moves on.
    _conn: Arc<Connection>,
    _channel: Channel,
    stream: lapin::Consumer,
}

#[derive(Debug)]
struct AmqpConsumer {
    shared: Arc<Shared>,
    queue: String,
    prefetch: u16,
    sub: Option<Subscription>,
    ended: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl AmqpConsumer {
    /// Subscribes again after the channel broke, retrying while the broker is away.
    /// `Ok(false)` when the queue is gone.
    async fn resubscribe(&mut self) -> Result<bool, MailboxError> {
        let deadline = tokio::time::Instant::now() + self.shared.resubscribe_for;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.shared.subscribe(&self.queue, self.prefetch).await {
                Ok(Some(sub)) => {
                    self.sub = Some(sub);
                    return Ok(true);
                }
                Ok(None) => return Ok(false),
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(queue = %self.queue, error = %e, "resubscribe failed; retrying");
                    // Backoff between reconnection attempts, not a poll for messages.
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait]
impl Consumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Option<Delivery>, MailboxError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            let Some(sub) = self.sub.as_mut() else {
                if !self.resubscribe().await? {
                    self.ended = true;
                }
                continue;
            };
            match sub.stream.next().await {
                Some(Ok(d)) => {
                    return Ok(Some(Delivery {
                        body: Bytes::from(d.data),
                        redelivered: d.redelivered,
                        acker: Box::new(AmqpAcker {
                            timeout: self.shared.round_trip_timeout,
                            acker: Some(d.acker),
                        }),
                    }));
                }
                Some(Err(e)) => {
                    tracing::warn!(queue = %self.queue, error = %self.shared.url.scrub(e.to_string()),
                        "AMQP consumer broke; resubscribing");
                    self.sub = None;
                }
                // Cancelled by the broker, usually because the queue was deleted; the
                // passive check in `resubscribe` tells that apart from other cancels.
                None => self.sub = None,
            }
        }
    }
}

/// Settles one AMQP delivery; dropped unsettled, it gives the message back at once rather
/// than leaving it held (and counted against prefetch) until the channel closes.
#[derive(Debug)]
struct AmqpAcker {
    timeout: Duration,
    acker: Option<lapin::Acker>,
}

#[async_trait]
impl Acker for AmqpAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), MailboxError> {
        let acker = self.acker.take().ok_or(MailboxError::Closed)?;
        settled("ack", self.timeout, acker.ack(BasicAckOptions::default())).await
    }

    async fn reject(mut self: Box<Self>, requeue: bool) -> Result<(), MailboxError> {
        let acker = self.acker.take().ok_or(MailboxError::Closed)?;
        let reject = acker.reject(BasicRejectOptions { requeue });
        settled("reject", self.timeout, reject).await
    }
}

/// An ack or reject, bounded like every broker round trip: a delivery left unsettled comes
/// back when its channel closes, so giving up on the answer loses nothing.
async fn settled(
    what: &str,
    timeout: Duration,
    call: impl Future<Output = Result<bool, lapin::Error>>,
) -> Result<(), MailboxError> {
    let outcome = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(MailboxError::Backend(format!("{what}: {e}"))),
        Err(_) => Err(MailboxError::Backend(format!(
            "{what}: the broker did not answer in time"
        ))),
    };
    if outcome.is_err() {
        broker_error();
    }
    outcome
}

/// Counts a failed call to RabbitMQ.
fn broker_error() {
    metrics::counter!(abaco::metrics::BROKER_ERRORS, "backend" => "rabbitmq").increment(1);
}

impl Drop for AmqpAcker {
    fn drop(&mut self) {
        let Some(acker) = self.acker.take() else {
            return;
        };
        // Without a runtime the channel's close will requeue it anyway.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = acker.reject(BasicRejectOptions { requeue: true }).await {
                    tracing::debug!(error = %e, "requeue of a dropped delivery failed");
                }
            });
        }
    }
}
