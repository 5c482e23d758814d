//! One behaviour, two backends: every case here runs on the redb file mailboxes (in a file of
//! their own, and in the store's file as `abaco up` keeps them) and on RabbitMQ
//! (`ABACO_TEST_AMQP_URL`, default the local broker).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use abaco::mailbox::{Consumer, Delivery, MailboxError, Mailboxes, Published};
use abaco_mailbox::{AmqpMailboxes, FileMailboxes};
use bytes::Bytes;
use tokio::time::timeout;

/// Upper bound of any one test.
const TEST_LIMIT: Duration = Duration::from_secs(30);
/// How long to wait to be fairly sure that nothing more arrives.
const QUIET: Duration = Duration::from_millis(500);

fn amqp_url() -> (String, bool) {
    match std::env::var("ABACO_TEST_AMQP_URL") {
        Ok(url) => (url, true),
        Err(_) => ("amqp://guest:guest@127.0.0.1:5672/%2f".into(), false),
    }
}

async fn on_file<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Mailboxes>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let mb = FileMailboxes::open(&dir.path().join("mailboxes.redb"))
        .await
        .unwrap();
    timeout(TEST_LIMIT, case(Arc::new(mb))).await.unwrap();
}

async fn in_store_file<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Mailboxes>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = abaco_store::RedbStore::open(&dir.path().join("store.redb")).unwrap();
    let mb = FileMailboxes::within(&store, None).await.unwrap();
    timeout(TEST_LIMIT, case(Arc::new(mb))).await.unwrap();
}

async fn on_amqp<F, Fut>(actors: &[&str], case: F)
where
    F: FnOnce(Arc<dyn Mailboxes>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (url, required) = amqp_url();
    let prefix = format!("abaco-test.{:016x}.", rand::random::<u64>());
    let mb = match AmqpMailboxes::connect_with_prefix(&url, &prefix).await {
        Ok(mb) => Arc::new(mb),
        // Without an explicit URL a missing local broker skips the AMQP half rather than
        // failing every workspace test run on a machine without RabbitMQ.
        Err(e) if !required => {
            eprintln!("SKIPPED: no RabbitMQ at the default URL ({e}); set ABACO_TEST_AMQP_URL");
            return;
        }
        Err(e) => panic!("RabbitMQ at ABACO_TEST_AMQP_URL: {e}"),
    };
    // In a task so that a failing case still reaches the cleanup below.
    let outcome = tokio::spawn(timeout(TEST_LIMIT, case(mb.clone()))).await;
    for actor in actors {
        mb.delete(actor).await.unwrap();
    }
    match outcome {
        Ok(in_time) => in_time.unwrap(),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Runs a case on both backends; `$actors` are the mailboxes it uses, removed afterwards.
macro_rules! conformance {
    ($name:ident, [$($actor:literal),*]) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn file() {
                super::on_file(super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn store_file() {
                super::in_store_file(super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn amqp() {
                super::on_amqp(&[$($actor),*], super::$name).await;
            }
        }
    };
}

async fn next(c: &mut Box<dyn Consumer>) -> Delivery {
    timeout(Duration::from_secs(10), c.next())
        .await
        .expect("a delivery in time")
        .unwrap()
        .expect("a delivery, not the end")
}

async fn nothing_more(c: &mut Box<dyn Consumer>) {
    if let Ok(got) = timeout(QUIET, c.next()).await {
        panic!("expected no delivery, got {got:?}");
    }
}

fn msg(i: usize) -> Bytes {
    Bytes::from(format!("m{i}"))
}

conformance!(fifo_order, ["fifo"]);
async fn fifo_order(mb: Arc<dyn Mailboxes>) {
    for i in 0..20 {
        mb.publish("fifo", msg(i)).await.unwrap();
    }
    let mut c = mb.consume("fifo", 5).await.unwrap();
    for i in 0..20 {
        let d = next(&mut c).await;
        assert_eq!(d.body, msg(i));
        assert!(!d.redelivered);
        d.ack().await.unwrap();
    }
}

conformance!(ack_removes, ["acked"]);
async fn ack_removes(mb: Arc<dyn Mailboxes>) {
    mb.publish("acked", msg(1)).await.unwrap();
    let mut c = mb.consume("acked", 1).await.unwrap();
    next(&mut c).await.ack().await.unwrap();
    drop(c);
    let mut c = mb.consume("acked", 1).await.unwrap();
    nothing_more(&mut c).await;
    assert_eq!(mb.depth("acked").await.unwrap(), 0);
}

conformance!(dropped_consumer_redelivers, ["dropped"]);
async fn dropped_consumer_redelivers(mb: Arc<dyn Mailboxes>) {
    mb.publish("dropped", msg(1)).await.unwrap();
    mb.publish("dropped", msg(2)).await.unwrap();
    let mut c = mb.consume("dropped", 2).await.unwrap();
    let first = next(&mut c).await;
    assert!(!first.redelivered);
    // The consumer goes while the delivery is still held: the broker takes it back.
    drop(c);
    let mut c = mb.consume("dropped", 2).await.unwrap();
    let again = next(&mut c).await;
    assert_eq!(again.body, msg(1));
    assert!(again.redelivered);
    drop(first);
    again.ack().await.unwrap();
    next(&mut c).await.ack().await.unwrap();
    nothing_more(&mut c).await;
}

conformance!(dropped_delivery_redelivers, ["dropped-delivery"]);
async fn dropped_delivery_redelivers(mb: Arc<dyn Mailboxes>) {
    mb.publish("dropped-delivery", msg(1)).await.unwrap();
    let mut c = mb.consume("dropped-delivery", 1).await.unwrap();
    drop(next(&mut c).await);
    // Same consumer: the dropped delivery freed its prefetch slot and came back.
    let again = next(&mut c).await;
    assert_eq!(again.body, msg(1));
    assert!(again.redelivered);
    again.ack().await.unwrap();
}

conformance!(reject_requeue_and_drop, ["rejected"]);
async fn reject_requeue_and_drop(mb: Arc<dyn Mailboxes>) {
    mb.publish("rejected", msg(1)).await.unwrap();
    let mut c = mb.consume("rejected", 1).await.unwrap();
    let d = next(&mut c).await;
    d.reject(true).await.unwrap();
    let d = next(&mut c).await;
    assert_eq!(d.body, msg(1));
    assert!(d.redelivered);
    d.reject(false).await.unwrap();
    nothing_more(&mut c).await;
    assert_eq!(mb.depth("rejected").await.unwrap(), 0);
}

conformance!(prefetch_bound, ["prefetch"]);
async fn prefetch_bound(mb: Arc<dyn Mailboxes>) {
    for i in 0..3 {
        mb.publish("prefetch", msg(i)).await.unwrap();
    }
    let mut c = mb.consume("prefetch", 1).await.unwrap();
    let first = next(&mut c).await;
    assert_eq!(first.body, msg(0));
    nothing_more(&mut c).await;
    first.ack().await.unwrap();
    let second = next(&mut c).await;
    assert_eq!(second.body, msg(1));
    second.ack().await.unwrap();
}

conformance!(consumers_share, ["shared"]);
async fn consumers_share(mb: Arc<dyn Mailboxes>) {
    const N: usize = 200;
    for i in 0..N {
        mb.publish("shared", msg(i)).await.unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for who in 0..2 {
        let mut c = mb.consume("shared", 10).await.unwrap();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok(Some(d)) = c.next().await {
                let body = d.body.clone();
                d.ack().await.unwrap();
                if tx.send((who, body)).is_err() {
                    break;
                }
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut per_consumer = [0usize; 2];
    for _ in 0..N {
        let (who, body) = timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        per_consumer[who] += 1;
        assert!(seen.insert(body.clone()), "duplicate {body:?}");
    }
    assert!(
        timeout(QUIET, rx.recv()).await.is_err(),
        "more than {N} deliveries"
    );
    assert_eq!(seen, (0..N).map(msg).collect::<HashSet<_>>());
    eprintln!("per consumer: {per_consumer:?}");
    for t in tasks {
        t.abort();
    }
}

conformance!(depth_and_purge, ["depth"]);
async fn depth_and_purge(mb: Arc<dyn Mailboxes>) {
    assert_eq!(mb.depth("depth").await.unwrap(), 0);
    assert_eq!(mb.purge("depth").await.unwrap(), 0);
    for i in 0..5 {
        mb.publish("depth", msg(i)).await.unwrap();
    }
    assert_eq!(mb.depth("depth").await.unwrap(), 5);
    let mut c = mb.consume("depth", 1).await.unwrap();
    let held = next(&mut c).await;
    // The handed-out message is not waiting, so neither counted nor purged.
    assert_eq!(mb.depth("depth").await.unwrap(), 4);
    assert_eq!(mb.purge("depth").await.unwrap(), 4);
    assert_eq!(mb.depth("depth").await.unwrap(), 0);
    held.ack().await.unwrap();
    nothing_more(&mut c).await;
    mb.publish("depth", msg(9)).await.unwrap();
    assert_eq!(next(&mut c).await.body, msg(9));
}

conformance!(delete_ends_consumers, ["deleted"]);
async fn delete_ends_consumers(mb: Arc<dyn Mailboxes>) {
    mb.create("deleted").await.unwrap();
    mb.create("deleted").await.unwrap();
    mb.publish("deleted", msg(1)).await.unwrap();
    let mut busy = mb.consume("deleted", 1).await.unwrap();
    let _held = next(&mut busy).await;
    let mut idle = mb.consume("deleted", 1).await.unwrap();
    let waiting = tokio::spawn(async move { idle.next().await.map(|d| d.is_none()) });
    // Let the idle consumer start waiting before the mailbox goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    mb.delete("deleted").await.unwrap();
    assert!(
        timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    );
    let end = timeout(Duration::from_secs(10), busy.next()).await.unwrap();
    assert!(end.unwrap().is_none());
    assert_eq!(mb.depth("deleted").await.unwrap(), 0);
    // A deleted mailbox can be made again, empty.
    mb.publish("deleted", msg(2)).await.unwrap();
    let mut c = mb.consume("deleted", 1).await.unwrap();
    let d = next(&mut c).await;
    assert_eq!(d.body, msg(2));
    assert!(!d.redelivered);
}

// What lets a sender skip checking its actor again: a publish into a mailbox that a deletion
// removed, or that a consumer made again after one, never passes for the mailbox known before.
conformance!(
    a_publish_after_a_deletion_says_the_mailbox_was_made,
    ["remade"]
);
async fn a_publish_after_a_deletion_says_the_mailbox_was_made(mb: Arc<dyn Mailboxes>) {
    mb.create("remade").await.unwrap();
    mb.publish("remade", msg(1)).await.unwrap();
    mb.delete("remade").await.unwrap();
    assert_eq!(
        mb.publish("remade", msg(2)).await.unwrap(),
        Published::Created
    );
    // Once published into, the mailbox is known: the next publish says so.
    assert_eq!(
        mb.publish("remade", msg(3)).await.unwrap(),
        Published::Existing
    );
    mb.delete("remade").await.unwrap();
    // A worker starting for a deleted actor consumes: that must not make the mailbox one the
    // next publish takes for known. The broker refuses the consumer; the file mailboxes make
    // the mailbox, and then the publish says it was made.
    match mb.consume("remade", 1).await {
        Err(MailboxError::Closed) => {}
        Ok(_consumer) => assert_eq!(
            mb.publish("remade", msg(4)).await.unwrap(),
            Published::Created
        ),
        Err(other) => panic!("consuming a deleted mailbox: {other}"),
    }
}

conformance!(mailboxes_are_separate, ["one", "two"]);
async fn mailboxes_are_separate(mb: Arc<dyn Mailboxes>) {
    mb.publish("one", msg(1)).await.unwrap();
    mb.publish("two", msg(2)).await.unwrap();
    assert_eq!(mb.depth("one").await.unwrap(), 1);
    let mut c = mb.consume("two", 1).await.unwrap();
    let d = next(&mut c).await;
    assert_eq!(d.body, msg(2));
    d.ack().await.unwrap();
    nothing_more(&mut c).await;
    assert_eq!(mb.purge("one").await.unwrap(), 1);
}

/// The file mailboxes know their own: the first publish into a mailbox is `Created`, the
/// next ones `Existing`, and after a restart (nothing known yet) the first is `Created` again.
#[tokio::test]
async fn the_file_mailboxes_tell_a_known_mailbox_from_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailboxes.redb");
    {
        let mb = FileMailboxes::open(&path).await.unwrap();
        mb.create("known").await.unwrap();
        assert_eq!(
            mb.publish("known", msg(1)).await.unwrap(),
            Published::Created
        );
        assert_eq!(
            mb.publish("known", msg(2)).await.unwrap(),
            Published::Existing
        );
    }
    let mb = FileMailboxes::open(&path).await.unwrap();
    assert_eq!(mb.depth("known").await.unwrap(), 2);
    assert_eq!(
        mb.publish("known", msg(3)).await.unwrap(),
        Published::Created
    );
    assert_eq!(
        mb.publish("known", msg(4)).await.unwrap(),
        Published::Existing
    );
}

/// Two processes with the broker's mailboxes: a deletion by one makes the other's next publish
/// into the mailbox it knew say `Created` (so its sender checks the actor again), and a
/// consumer of a deleted mailbox is refused rather than making it again.
#[tokio::test]
async fn a_deletion_elsewhere_makes_the_next_publish_here_say_created() {
    let (url, required) = amqp_url();
    let prefix = format!("abaco-test.{:016x}.", rand::random::<u64>());
    let (here, there) = match (
        AmqpMailboxes::connect_with_prefix(&url, &prefix).await,
        AmqpMailboxes::connect_with_prefix(&url, &prefix).await,
    ) {
        (Ok(here), Ok(there)) => (here, there),
        (Err(e), _) | (_, Err(e)) if !required => {
            eprintln!("SKIPPED: no RabbitMQ at the default URL ({e}); set ABACO_TEST_AMQP_URL");
            return;
        }
        (Err(e), _) | (_, Err(e)) => panic!("RabbitMQ at ABACO_TEST_AMQP_URL: {e}"),
    };
    timeout(TEST_LIMIT, async {
        there.create("elsewhere").await.unwrap();
        here.publish("elsewhere", msg(1)).await.unwrap();
        assert_eq!(
            here.publish("elsewhere", msg(2)).await.unwrap(),
            Published::Existing
        );
        there.delete("elsewhere").await.unwrap();
        assert!(matches!(
            there.consume("elsewhere", 1).await,
            Err(MailboxError::Closed)
        ));
        assert!(matches!(
            here.consume("elsewhere", 1).await,
            Err(MailboxError::Closed)
        ));
        assert_eq!(
            here.publish("elsewhere", msg(3)).await.unwrap(),
            Published::Created
        );
        assert_eq!(here.depth("elsewhere").await.unwrap(), 1);
    })
    .await
    .unwrap();
    here.delete("elsewhere").await.unwrap();
}
