//! The raw cost of the parts the platform is built on: a confirmed publish through lapin plus
//! one Redis write through fred, the project's own embedded store and mailboxes, and a plain
//! bollard container cycle.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use abaco::{
    mailbox::Mailboxes,
    store::{Expect, Store, Table},
};
use abaco_mailbox::FileMailboxes;
use abaco_store::RedbStore;
use anyhow::{Context, Result, bail};
use bollard::{
    Docker,
    models::ContainerCreateBody,
    query_parameters::{LogsOptionsBuilder, RemoveContainerOptionsBuilder},
};
use bytes::Bytes;
use fred::prelude::{Builder, ClientLike, Config, KeysInterface, LuaInterface, Pool};
use futures::StreamExt;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
    options::{
        BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
        QueuePurgeOptions,
    },
    types::FieldTable,
};

/// Redis connections, as many as the platform's store pools.
const REDIS_POOL: usize = 4;

/// Raw lapin and fred: what one accepted message costs at the least on Redis and RabbitMQ.
#[derive(Debug, Clone)]
pub struct RawQueueStore {
    channel: Channel,
    _conn: Arc<Connection>,
    redis: Pool,
    queue: String,
    key_prefix: String,
    next_key: Arc<AtomicU64>,
}

impl RawQueueStore {
    /// Connects, opens a confirm-mode channel and declares a durable queue named after
    /// `namespace`.
    pub async fn connect(amqp_url: &str, redis_url: &str, namespace: &str) -> Result<Self> {
        let conn = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let queue = format!("{namespace}.raw-baseline");
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let redis = Builder::from_config(Config::from_url(redis_url)?).build_pool(REDIS_POOL)?;
        redis.init().await?;
        Ok(Self {
            channel,
            _conn: Arc::new(conn),
            redis,
            queue,
            key_prefix: format!("{{{namespace}:raw}}:"),
            next_key: Arc::new(AtomicU64::new(0)),
        })
    }

    /// One store write (`SET`) of `record` and one persistent, mandatory, confirmed publish
    /// of `message`.
    pub async fn accept(&self, record: Bytes, message: &[u8]) -> Result<()> {
        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
        let key = format!("{}{n}", self.key_prefix);
        let () = self.redis.set(key, record, None, None, false).await?;
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                self.queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                message,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            other => bail!("publish not confirmed: {other:?}"),
        }
    }

    /// Empties the queue.
    pub async fn purge(&self) -> Result<()> {
        self.channel
            .queue_purge(self.queue.as_str().into(), QueuePurgeOptions::default())
            .await?;
        Ok(())
    }

    /// Deletes the queue and the keys written.
    pub async fn cleanup(&self) -> Result<()> {
        self.channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
        delete_keys_on(&self.redis, &format!("{}*", self.key_prefix)).await?;
        self.redis.quit().await?;
        Ok(())
    }
}

/// Deletes every key matching `pattern` at `url`.
pub async fn delete_redis_keys(url: &str, pattern: &str) -> Result<()> {
    let pool = Builder::from_config(Config::from_url(url)?).build_pool(1)?;
    pool.init().await?;
    let result = delete_keys_on(&pool, pattern).await;
    let _ = pool.quit().await;
    result
}

async fn delete_keys_on(pool: &Pool, pattern: &str) -> Result<()> {
    const LUA: &str = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do \
                       n = n + redis.call('DEL', k) end return n";
    let _: i64 = pool.eval(LUA, Vec::<String>::new(), vec![pattern]).await?;
    Ok(())
}

/// The project's own embedded backends (redb store and redb mailboxes), called in-process:
/// what `abaco up` pays per accepted message below its gRPC and REST layers.
#[derive(Debug, Clone)]
pub struct EmbeddedParts {
    store: Arc<RedbStore>,
    mailboxes: Arc<FileMailboxes>,
    next_key: Arc<AtomicU64>,
}

impl EmbeddedParts {
    /// Opens both under `dir`, with a mailbox for `actor`.
    pub async fn open(dir: &Path, actor: &str) -> Result<Self> {
        let path = dir.join("store.redb");
        let store = tokio::task::spawn_blocking(move || RedbStore::open(&path)).await??;
        let mailboxes = FileMailboxes::open(&dir.join("mailboxes.redb")).await?;
        mailboxes.create(actor).await?;
        Ok(Self {
            store: Arc::new(store),
            mailboxes: Arc::new(mailboxes),
            next_key: Arc::new(AtomicU64::new(0)),
        })
    }

    /// One record insert and one durable publish, as the messages service does.
    pub async fn accept(&self, actor: &str, record: Bytes, message: Bytes) -> Result<()> {
        let n = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.store
            .put(
                Table::Executions,
                &format!("{actor}/{n}"),
                record,
                Expect::Absent,
                None,
            )
            .await?;
        self.mailboxes.publish(actor, message).await?;
        Ok(())
    }
}

/// A plain Docker cycle of an image: create, start, wait, logs, remove.
#[derive(Debug, Clone)]
pub struct DockerCycle {
    docker: Docker,
    image: String,
    namespace: String,
}

impl DockerCycle {
    /// Connects to the local engine, negotiating the API version as the worker does.
    pub async fn connect(image: &str, namespace: &str) -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()?
            .negotiate_version()
            .await?;
        Ok(Self {
            docker,
            image: image.to_string(),
            namespace: namespace.to_string(),
        })
    }

    /// Runs the image once with `MSG=message`; how long each step took.
    pub async fn run(&self, message: &str) -> Result<CycleSteps> {
        let mut steps = CycleSteps::default();
        let t = Instant::now();
        let body = ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(vec![format!("MSG={message}")]),
            // Not the platform's label: its health checks would remove these as orphans.
            labels: Some(HashMap::from([(
                crate::platform::RAW_LABEL.to_string(),
                self.namespace.clone(),
            )])),
            ..Default::default()
        };
        let id = self.docker.create_container(None, body).await?.id;
        steps.create = t.elapsed();
        let result = self.started(&id, &mut steps).await;
        let t = Instant::now();
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        self.docker
            .remove_container(&id, Some(options))
            .await
            .context("removing the container")?;
        steps.remove = t.elapsed();
        result.map(|()| steps)
    }

    async fn started(&self, id: &str, steps: &mut CycleSteps) -> Result<()> {
        let t = Instant::now();
        self.docker.start_container(id, None).await?;
        steps.start = t.elapsed();
        let t = Instant::now();
        // bollard reports a non-zero exit as an error; only other errors are failures.
        match self.docker.wait_container(id, None).next().await {
            Some(Err(error))
                if !matches!(
                    error,
                    bollard::errors::Error::DockerContainerWaitError { .. }
                ) =>
            {
                return Err(error.into());
            }
            _ => {}
        }
        steps.wait = t.elapsed();
        let t = Instant::now();
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut logs = self.docker.logs(id, Some(options));
        while let Some(chunk) = logs.next().await {
            chunk?;
        }
        steps.logs = t.elapsed();
        Ok(())
    }
}

/// How long each step of one raw cycle took.
#[derive(Debug, Clone, Copy, Default)]
pub struct CycleSteps {
    /// `create_container`.
    pub create: Duration,
    /// `start_container`.
    pub start: Duration,
    /// `wait_container` until exit.
    pub wait: Duration,
    /// Reading the logs.
    pub logs: Duration,
    /// `remove_container`.
    pub remove: Duration,
}

impl CycleSteps {
    /// The whole cycle.
    pub fn total(&self) -> Duration {
        self.create + self.start + self.wait + self.logs + self.remove
    }
}
