//! A component started before RabbitMQ is up waits for it (with backoff, up to
//! `startup_timeout_secs`) instead of exiting: started beside the broker (compose, systemd),
//! it comes up once the broker does, and gives up, saying why, only after the timeout.

#![allow(clippy::unwrap_used)]

use std::{
    net::{SocketAddr, TcpStream},
    process::Command,
    time::{Duration, Instant},
};

use abaco_tests::{PrivateRabbit, free_addr, lone_registration, redis_url};

/// `abaco registration` against the broker at `amqp_url`, waiting for it `timeout_secs`.
fn registration(amqp_url: &str, grpc: SocketAddr, timeout_secs: &str) -> Command {
    let mut command = lone_registration(&redis_url(), amqp_url, grpc);
    command.env("ABACO_STARTUP_TIMEOUT_SECS", timeout_secs);
    command
}

#[test]
fn a_component_waits_for_its_broker_at_start() {
    let mut rabbit = PrivateRabbit::start();
    let url = rabbit.url();
    rabbit.kill_9();

    let grpc = free_addr();
    let mut waiting = registration(&url, grpc, "120").spawn().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "it waits for the broker"
    );
    rabbit.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(grpc).is_err() {
        assert!(waiting.try_wait().unwrap().is_none(), "it gave up too soon");
        assert!(
            Instant::now() < deadline,
            "it never came up after the broker did"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    waiting.kill().unwrap();
    let _ = waiting.wait();

    // With no broker at all it gives up after its timeout, saying what it could not reach.
    rabbit.kill_9();
    let started = Instant::now();
    let output = registration(&url, free_addr(), "2").output().unwrap();
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("opening the mailboxes"), "{said}");
}
