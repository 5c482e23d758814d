//! The Redis backend against the conformance suite, plus reconnection after a Redis restart
//! and credential hygiene of errors. Needs a Redis at `ABACO_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`); the restart test starts its own `redis-server`.
#![allow(clippy::unwrap_used)]

mod suite;

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use abaco::store::{Expect, Store, StoreError, Table};
use abaco_store::RedisStore;
use bytes::Bytes;

fn redis_url() -> String {
    std::env::var("ABACO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn random_prefix() -> String {
    format!("abaco-test-{:016x}", rand::random::<u64>())
}

async fn connect(url: &str, prefix: &str) -> RedisStore {
    RedisStore::connect_with_prefix(url, prefix)
        .await
        .unwrap_or_else(|e| panic!("no Redis for the tests (set ABACO_TEST_REDIS_URL): {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_conformance() {
    let prefix = random_prefix();
    let store: Arc<dyn Store> = Arc::new(connect(&redis_url(), &prefix).await);

    // Run the suite as a task so that a failing check still lets the cleanup run.
    let outcome = tokio::spawn(suite::run(Arc::clone(&store))).await;

    for table in Table::ALL {
        store.delete_prefix(table, "").await.unwrap();
        assert!(store.scan(table, "").await.unwrap().is_empty());
    }
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

#[tokio::test]
async fn redis_stores_with_different_prefixes_are_isolated() {
    let (p1, p2) = (random_prefix(), random_prefix());
    let one = connect(&redis_url(), &p1).await;
    let two = connect(&redis_url(), &p2).await;
    one.put(
        Table::Actors,
        "same",
        Bytes::from_static(b"1"),
        Expect::Absent,
        None,
    )
    .await
    .unwrap();
    assert_eq!(two.get(Table::Actors, "same").await.unwrap(), None);
    assert!(two.scan(Table::Actors, "").await.unwrap().is_empty());
    two.put(
        Table::Actors,
        "same",
        Bytes::from_static(b"2"),
        Expect::Absent,
        None,
    )
    .await
    .unwrap();
    assert_eq!(one.delete_prefix(Table::Actors, "").await.unwrap(), 1);
    assert_eq!(two.delete_prefix(Table::Actors, "").await.unwrap(), 1);
}

#[tokio::test]
async fn redis_errors_hide_credentials() {
    // Nothing listens on port 1: the connection is refused.
    let refused = RedisStore::connect("redis://alice:s3cr3t-pw@127.0.0.1:1/0")
        .await
        .unwrap_err();
    // No such user on the test Redis (its default user would accept any password).
    let rejected = RedisStore::connect(&with_password(&redis_url(), "hunter2-pw"))
        .await
        .unwrap_err();
    for error in [refused, rejected] {
        let message = error.to_string();
        assert!(matches!(error, StoreError::Backend(_)), "{message}");
        assert!(
            !message.contains("s3cr3t-pw") && !message.contains("hunter2-pw"),
            "{message}"
        );
    }
}

fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://abaco-test-nobody:{password}@{host}")
}

/// A `redis-server` of our own, killed on drop.
struct OwnRedis {
    child: Child,
    _dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        Self { child, _dir: dir }
    }

    fn restart(&mut self, port: u16) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = child;
        self._dir = dir;
    }

    fn stop(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until_ok<T>(what: &str, mut attempt: impl AsyncFnMut() -> Result<T, StoreError>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!("{what}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: still failing: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_survives_a_redis_restart() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = OwnRedis::start(port);
    let store = until_ok("first connect", async || RedisStore::connect(&url).await).await;
    store
        .put(
            Table::Actors,
            "a",
            Bytes::from_static(b"1"),
            Expect::Absent,
            None,
        )
        .await
        .unwrap();

    redis.stop();
    let during = store
        .put(
            Table::Actors,
            "a",
            Bytes::from_static(b"2"),
            Expect::Any,
            None,
        )
        .await;
    assert!(matches!(during, Err(StoreError::Backend(_))), "{during:?}");

    // Same data dir: the append-only file brings the entry back, the script cache does not.
    redis.restart(port);
    let version = until_ok("put after restart", async || {
        store
            .put(
                Table::Actors,
                "a",
                Bytes::from_static(b"3"),
                Expect::Any,
                None,
            )
            .await
    })
    .await;
    assert!(
        version >= 2,
        "the entry written before the restart was kept: {version}"
    );
    assert_eq!(store.scan(Table::Actors, "").await.unwrap().len(), 1);
}
