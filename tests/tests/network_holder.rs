//! Runs join their worker's network holder on both backends: one actor's runs share a
//! network namespace, another actor's runs never see it, a holder that disappears is
//! replaced before the next run, and a stopping worker takes its holder with it. With the
//! holder turned off every run has a namespace of its own.
//!
//! A run shows its network namespace and its host name; a run in a holder's namespace has
//! the holder's host name (its short container id). Namespace numbers alone prove little
//! for runs that did not overlap, since the kernel reuses a freed namespace's number.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    Api, BackendKind, Platform, on_both_backends,
    steps::{eventually, finished, holders_of, logs_of, register, send},
};
use serde_json::json;

on_both_backends!(
    one_actors_runs_share_their_workers_network_and_no_other_actor_sees_it,
    a_lost_holder_is_replaced_and_the_next_run_completes,
);

const LIMIT: Duration = Duration::from_secs(90);

/// Where a sample-inspect run's network was.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Network {
    /// `net:[inode]`.
    namespace: String,
    /// The run's host name: a holder's short id when it joined one.
    hostname: String,
}

impl Network {
    /// Whether this is the network of holder `id` (a full container id).
    fn is_held_by(&self, id: &str) -> bool {
        !self.hostname.is_empty() && id.starts_with(&self.hostname)
    }
}

async fn network_of_a_run(api: &Api, actor: &str) -> Network {
    let execution = send(api, actor, "", "text/plain", b"look".to_vec()).await;
    let record = finished(api, actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(api, actor, &execution).await;
    let value = |name: &str| {
        logs.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {logs}"))
            .to_string()
    };
    let network = Network {
        namespace: value("netns="),
        hostname: value("hostname="),
    };
    assert!(network.namespace.starts_with("net:["), "{network:?}");
    network
}

async fn one_actors_runs_share_their_workers_network_and_no_other_actor_sees_it(
    platform: Platform,
) {
    let api = &platform.api;
    let namespace = platform.namespace().to_string();
    let first = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let second = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let first_a = network_of_a_run(api, &first).await;
    let first_b = network_of_a_run(api, &first).await;
    let second_a = network_of_a_run(api, &second).await;
    let holders = holders_of(&namespace);
    assert_eq!(holders.len(), 2, "one holder per worker: {holders:?}");
    assert_eq!(
        first_a, first_b,
        "one worker's runs share its holder's network"
    );
    assert!(
        holders.iter().any(|h| first_a.is_held_by(h)),
        "{first_a:?} {holders:?}"
    );
    assert!(
        holders.iter().any(|h| second_a.is_held_by(h)),
        "{second_a:?} {holders:?}"
    );
    // Both holders are alive, so their namespaces' numbers must differ if they are two.
    assert_ne!(
        first_a.namespace, second_a.namespace,
        "two actors' runs share a network"
    );
    assert_ne!(first_a.hostname, second_a.hostname);

    for actor in [&first, &second] {
        api.delete(&format!("/actors/{actor}")).await.unwrap().ok();
    }
    eventually(
        Duration::from_secs(30),
        "the stopped workers' holders to go",
        || async { holders_of(&namespace).is_empty().then_some(()) },
    )
    .await;
}

async fn a_lost_holder_is_replaced_and_the_next_run_completes(platform: Platform) {
    let api = &platform.api;
    let namespace = platform.namespace().to_string();
    let actor = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let before = network_of_a_run(api, &actor).await;
    let lost = holders_of(&namespace);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(before.is_held_by(&lost[0]), "{before:?} {lost:?}");
    let removed = std::process::Command::new("docker")
        .args(["rm", "-f", &lost[0]])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{removed:?}");

    let after = network_of_a_run(api, &actor).await;
    let replaced = holders_of(&namespace);
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_ne!(replaced[0], lost[0]);
    assert!(after.is_held_by(&replaced[0]), "{after:?} {replaced:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_holders_every_run_has_a_network_of_its_own() {
    let platform = Platform::start_with_settings(
        BackendKind::Embedded,
        &[("ABACO_RUN_NETWORK_HOLDER", "false")],
    )
    .await;
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let first = network_of_a_run(api, &actor).await;
    let second = network_of_a_run(api, &actor).await;
    assert_ne!(first.hostname, second.hostname, "each run is its own host");
    assert!(holders_of(platform.namespace()).is_empty());
}
