//! The embedded mailboxes across a restart: a clean one (drop and reopen) and a kill -9 of a
//! child process holding a delivery.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use abaco::mailbox::{Consumer, Delivery, Mailboxes};
use abaco_mailbox::FileMailboxes;
use bytes::Bytes;
use tokio::time::timeout;

const TEST_LIMIT: Duration = Duration::from_secs(30);
const CHILD_DB: &str = "ABACO_MAILBOX_TEST_CHILD_DB";

fn msg(i: usize) -> Bytes {
    Bytes::from(format!("m{i}"))
}

async fn next(c: &mut Box<dyn Consumer>) -> Delivery {
    timeout(Duration::from_secs(10), c.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// After a restart: m0 was acked, m1 was held and comes back redelivered, m2 was never
/// handed out and comes plain; the other mailbox is untouched.
async fn check_after_restart(path: &Path) {
    let mb = FileMailboxes::open(path).await.unwrap();
    assert_eq!(mb.depth("a").await.unwrap(), 2);
    assert_eq!(mb.depth("b").await.unwrap(), 1);
    let mut c = mb.consume("a", 5).await.unwrap();
    let d = next(&mut c).await;
    assert_eq!((d.body.clone(), d.redelivered), (msg(1), true));
    d.ack().await.unwrap();
    let d = next(&mut c).await;
    assert_eq!((d.body.clone(), d.redelivered), (msg(2), false));
    d.ack().await.unwrap();
    assert!(timeout(Duration::from_millis(300), c.next()).await.is_err());
    // New messages after a restart sort after the old ones.
    mb.publish("b", msg(4)).await.unwrap();
    let mut c = mb.consume("b", 5).await.unwrap();
    for i in [3, 4] {
        let d = next(&mut c).await;
        assert_eq!((d.body.clone(), d.redelivered), (msg(i), false));
        d.ack().await.unwrap();
    }
}

/// Publishes m0..m2 to "a" and m3 to "b", acks m0 and returns m1 still held.
async fn fill(mb: &FileMailboxes) -> (Box<dyn Consumer>, Delivery) {
    for i in 0..3 {
        mb.publish("a", msg(i)).await.unwrap();
    }
    mb.publish("b", msg(3)).await.unwrap();
    let mut c = mb.consume("a", 1).await.unwrap();
    next(&mut c).await.ack().await.unwrap();
    let held = next(&mut c).await;
    assert_eq!(held.body, msg(1));
    (c, held)
}

#[tokio::test]
async fn restart_redelivers_unacked_and_keeps_unconsumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailboxes.redb");
    timeout(TEST_LIMIT, async {
        let mb = FileMailboxes::open(&path).await.unwrap();
        let (c, held) = fill(&mb).await;
        drop((c, held, mb));
        check_after_restart(&path).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn kill_9_redelivers_unacked_and_keeps_unconsumed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailboxes.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_holds_a_delivery",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("CHILD READY"))
    });
    let ready = timeout(TEST_LIMIT, ready).await;
    // std's kill is SIGKILL on Unix: no destructor runs in the child.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready.unwrap().unwrap(), "the child never got ready");
    timeout(TEST_LIMIT, check_after_restart(&path))
        .await
        .unwrap();
}

/// The child half of `kill_9_redelivers_unacked_and_keeps_unconsumed`; does nothing alone.
#[tokio::test]
#[ignore = "run by kill_9_redelivers_unacked_and_keeps_unconsumed"]
#[allow(clippy::print_stdout)]
async fn child_holds_a_delivery() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let mb = FileMailboxes::open(Path::new(&path)).await.unwrap();
    let _held = fill(&mb).await;
    println!("CHILD READY");
    tokio::time::sleep(Duration::from_secs(60)).await;
}
