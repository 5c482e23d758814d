//! Redis durability is stated at start: a distributed component on a Redis that could lose
//! accepted messages (no `appendfsync always`) warns saying what and how to fix it, or, with
//! `store_durability = require`, refuses to start; once Redis syncs every write it starts.

#![allow(clippy::unwrap_used)]

use std::{
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use abaco_tests::{PrivateRedis, amqp_url, free_addr, lone_registration};

/// `abaco registration` against `redis_url` with `store_durability = durability`.
fn registration(redis_url: &str, durability: &str) -> Command {
    let mut command = lone_registration(redis_url, &amqp_url(), free_addr());
    command.env("ABACO_STORE_DURABILITY", durability);
    command
}

/// Waits up to `limit` for `child` to exit; its output, or `None` while it still runs (then
/// it is killed).
fn exits_within(mut child: Child, limit: Duration) -> Option<Output> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    let _ = child.wait();
    None
}

fn redis_cli(url: &str, args: &[&str]) {
    let status = Command::new("redis-cli")
        .arg("-u")
        .arg(url)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_redis_that_could_lose_messages_is_said_or_refused() {
    let redis = PrivateRedis::start();
    redis_cli(&redis.url(), &["CONFIG", "SET", "appendfsync", "everysec"]);

    let refused = registration(&redis.url(), "require").spawn().unwrap();
    let output = exits_within(refused, Duration::from_secs(20)).expect("it refuses to start");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("appendfsync") && said.contains("CONFIG SET appendfsync always"),
        "{said}"
    );

    // Warned, it starts, and its log says what could be lost.
    let mut warned = registration(&redis.url(), "warn").spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(warned.try_wait().unwrap().is_none(), "it runs");
    warned.kill().unwrap();
    let output = warned.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("accepted messages could be lost"), "{said}");

    // A Redis that syncs every write is enough, even for `require`.
    redis_cli(&redis.url(), &["CONFIG", "SET", "appendfsync", "always"]);
    let started = registration(&redis.url(), "require").spawn().unwrap();
    assert!(
        exits_within(started, Duration::from_secs(3)).is_none(),
        "it starts on a Redis that syncs every write"
    );
}
