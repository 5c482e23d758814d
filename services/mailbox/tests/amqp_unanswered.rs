//! A broker that keeps its connections open but stops answering (a wedged node, a network
//! that drops packets without resetting). Calls must fail within the round-trip bound rather
//! than wait forever, and once a broker answers again the next calls work on a new connection.
//! The broker is the real RabbitMQ, reached through a loopback proxy the test can freeze.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use abaco::mailbox::Mailboxes;
use abaco_mailbox::AmqpMailboxes;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The bound the mailboxes get here: short, so the test is.
const ROUND_TRIP: Duration = Duration::from_secs(1);
/// What "does not hang" means in this test: far above the bound, far below forever.
const NO_HANG: Duration = Duration::from_secs(10);

/// Forwards loopback connections to the broker. Frozen, it holds every byte it reads; thawed,
/// it cuts the connections made before (their held bytes are lost, as with a broker that was
/// replaced) and forwards new ones.
struct Proxy {
    addr: std::net::SocketAddr,
    frozen: Arc<AtomicBool>,
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let (f, e) = (frozen.clone(), epoch.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let born = e.load(Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, f.clone(), e.clone(), born));
                tokio::spawn(pump(server_read, client_write, f.clone(), e.clone(), born));
            }
        });
        Self {
            addr,
            frozen,
            epoch,
        }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    fn thaw(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.frozen.store(false, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
    epoch: Arc<AtomicU64>,
    born: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if epoch.load(Ordering::SeqCst) != born || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The broker's URL, and whether the environment requires it (set explicitly).
fn amqp_url() -> (String, bool) {
    match std::env::var("ABACO_TEST_AMQP_URL") {
        Ok(url) => (url, true),
        Err(_) => ("amqp://guest:guest@127.0.0.1:5672/%2f".into(), false),
    }
}

/// `url` with its `host:port` swapped for `addr`, and the `host:port` it had.
fn through(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (format!("{userinfo}@"), host),
        None => (String::new(), authority),
    };
    (
        format!("{scheme}://{userinfo}{addr}{path}"),
        host.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_a_broker_that_stops_answering_fail_in_bounded_time_then_recover() {
    let (url, required) = amqp_url();
    let probe = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (_, upstream) = through(&url, probe);
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through(&url, proxy.addr);
    let prefix = format!("abaco-test.{:016x}.", rand::random::<u64>());
    let mb = match AmqpMailboxes::connect_with_timeout(&proxied, &prefix, ROUND_TRIP).await {
        Ok(mb) => mb,
        Err(e) if !required => {
            eprintln!("SKIPPED: no RabbitMQ at the default URL ({e}); set ABACO_TEST_AMQP_URL");
            return;
        }
        Err(e) => panic!("RabbitMQ at ABACO_TEST_AMQP_URL: {e}"),
    };
    mb.publish("a", Bytes::from_static(b"one")).await.unwrap();

    proxy.freeze();
    let publish = timeout(NO_HANG, mb.publish("a", Bytes::from_static(b"two")))
        .await
        .expect("a publish to a silent broker must give up, not hang");
    let error = publish.expect_err("an unconfirmed publish must not count as accepted");
    assert!(
        error.to_string().contains("did not answer"),
        "the error says why: {error}"
    );
    let depth = timeout(NO_HANG, mb.depth("a"))
        .await
        .expect("a depth query to a silent broker must give up, not hang");
    assert!(depth.is_err(), "no depth can be known: {depth:?}");

    proxy.thaw();
    let mut published = mb.publish("a", Bytes::from_static(b"three")).await;
    for _ in 0..20 {
        if published.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        published = mb.publish("a", Bytes::from_static(b"three")).await;
    }
    published.expect("once the broker answers, publishing works again");

    // "two" never reached the broker: the mailbox holds what was confirmed, in order.
    let mut consumer = mb.consume("a", 1).await.unwrap();
    for expected in [&b"one"[..], b"three"] {
        let delivery = timeout(NO_HANG, consumer.next())
            .await
            .expect("a confirmed message is delivered")
            .unwrap()
            .unwrap();
        assert_eq!(&delivery.body[..], expected);
        delivery.ack().await.unwrap();
    }
    assert_eq!(mb.depth("a").await.unwrap(), 0);
    drop(consumer);
    mb.delete("a").await.unwrap();
}
