//! RabbitMQ going away and coming back under a live `AmqpMailboxes`. Ignored by default: it
//! stops and starts the local broker's app (`rabbitmqctl`), which disturbs anything else using it.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use abaco::mailbox::Mailboxes;
use abaco_mailbox::AmqpMailboxes;
use bytes::Bytes;
use tokio::time::timeout;

/// `rabbitmqctl` against the shared test node that `tests/services.sh` starts (its name, and
/// its cookie in its home).
fn rabbitmqctl(arg: &str) {
    let status = Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
        .env("HOME", "/var/lib/abaco-test-rabbit")
        .args(["-n", "abaco@localhost", arg])
        .status()
        .unwrap();
    assert!(status.success(), "rabbitmqctl {arg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the local RabbitMQ; run with --ignored"]
async fn survives_broker_restart() {
    let url = std::env::var("ABACO_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let prefix = format!("abaco-test.{:016x}.", rand::random::<u64>());
    let mb = AmqpMailboxes::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    timeout(Duration::from_secs(120), async {
        mb.publish("r", Bytes::from_static(b"before"))
            .await
            .unwrap();
        let mut c = mb.consume("r", 1).await.unwrap();
        let d = c.next().await.unwrap().unwrap();
        assert_eq!(&d.body[..], b"before");
        d.ack().await.unwrap();

        rabbitmqctl("stop_app");
        let down = mb.publish("r", Bytes::from_static(b"during")).await;
        assert!(down.is_err(), "publish with the broker down must fail");
        let err = down.unwrap_err().to_string();
        assert!(!err.contains("guest:guest"), "credentials in error: {err}");
        // The consumer waits (reconnecting) while the broker is away.
        let waiting = tokio::spawn(async move { c.next().await.map(|d| d.map(|d| d.body)) });
        rabbitmqctl("start_app");

        let started = Instant::now();
        loop {
            match mb.publish("r", Bytes::from_static(b"after")).await {
                Ok(_) => break,
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    eprintln!("broker not back yet: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("publish after restart: {e}"),
            }
        }
        let got = waiting.await.unwrap().unwrap().unwrap();
        assert_eq!(&got[..], b"after");
        assert_eq!(mb.depth("r").await.unwrap(), 0);
    })
    .await
    .unwrap();
    mb.delete("r").await.unwrap();
}
