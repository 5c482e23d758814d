//! The chaos run, on both backends: a steady stream of messages while, at random, a worker is
//! killed mid-run, the spawner or the messages service is killed and started again, Redis is
//! killed and started on its data, or RabbitMQ is restarted (distributed); or the whole of
//! `abaco up` is killed and started again on its data (embedded). At the end every
//! accepted message is COMPLETE, ERROR with a reason, or a dead letter; none ran twice on a
//! live worker (a run a killed worker had started may run once more elsewhere); counts are
//! printed. Three minutes here (`ABACO_CHAOS_SECS`, longer by setting it); the faults follow
//! a seed that is printed (`ABACO_CHAOS_SEED` replays them).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use abaco_tests::{
    BackendKind, Platform, PrivateRabbit, PrivateRedis,
    fault_kit::{
        Sent, Starts, Trickle, dead_letter_ids, running_containers, settle, settled,
        sleeper_with_two_workers, verify, worker_ids,
    },
    kill_9,
    steps::eventually,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Seconds of chaos unless `ABACO_CHAOS_SECS` says otherwise.
const DEFAULT_SECS: u64 = 180;

fn from_env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed() {
    chaos(BackendKind::Distributed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    chaos(BackendKind::Embedded).await;
}

async fn chaos(kind: BackendKind) {
    let secs = from_env("ABACO_CHAOS_SECS").unwrap_or(DEFAULT_SECS);
    let seed = from_env("ABACO_CHAOS_SEED").unwrap_or_else(rand::random);
    eprintln!(
        "chaos ({kind:?}): {secs} s, seed {seed} (ABACO_CHAOS_SEED={seed} replays the faults)"
    );
    let mut rng = StdRng::seed_from_u64(seed);

    // Private ones, which the chaos may kill without disturbing the tests beside it.
    // The sweep runs often and soon, so that a message cut off between its record and its
    // mailbox (its sender got no answer) is ended ERROR within the run.
    let settings = [
        ("ABACO_HEALTH_SWEEP_SECS", "2"),
        ("ABACO_STUCK_AFTER_SECS", "10"),
    ];
    let (mut platform, mut redis, mut rabbit) = if kind == BackendKind::Distributed {
        let redis = PrivateRedis::start();
        let rabbit = PrivateRabbit::start();
        let platform =
            Platform::start_with_urls_and_settings(kind, redis.url(), rabbit.url(), &settings)
                .await;
        (platform, Some(redis), Some(rabbit))
    } else {
        (
            Platform::start_with_settings(kind, &settings).await,
            None,
            None,
        )
    };
    let api = platform.api.clone();
    let actor = sleeper_with_two_workers(&api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    // "0": the sample sleeps no time and exits 0; one a second keeps two workers busy enough.
    let trickle = Trickle::start_every(&api, &actor, "0", Duration::from_secs(1));

    let mut dead_workers = HashSet::new();
    let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
    while began.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(rng.random_range(4..10))).await;
        if kind == BackendKind::Embedded {
            // Its workers die with it: the runs they had going may run again.
            dead_workers.extend(worker_ids(&api, &actor).await);
            dead_workers.extend(running_containers(&actor).into_iter().map(|(_, w)| w));
            platform.crash_and_restart().await;
            eprintln!(
                "chaos: abaco up killed and started at {:.0} s",
                began.elapsed().as_secs_f64()
            );
            *faults.entry("abaco up killed and started").or_default() += 1;
            continue;
        }
        let fault = match rng.random_range(0..5) {
            0 => {
                let Some((execution, worker)) = running_containers(&actor).into_iter().next()
                else {
                    continue;
                };
                for pid in platform.worker_pids(Some(&worker)) {
                    kill_9(pid);
                }
                eprintln!("chaos: killed worker {worker} while it ran {execution}");
                dead_workers.insert(worker);
                "worker killed mid-run"
            }
            1 => {
                platform.restart_component("spawner");
                "spawner killed and started"
            }
            2 => {
                platform.restart_component("messages");
                "messages service killed and started"
            }
            3 => {
                let mut store = redis.take().unwrap();
                redis = Some(
                    tokio::task::spawn_blocking(move || {
                        store.kill_9();
                        std::thread::sleep(Duration::from_secs(1));
                        store.restart();
                        store
                    })
                    .await
                    .unwrap(),
                );
                "redis killed and started on its data"
            }
            _ => {
                let mut broker = rabbit.take().unwrap();
                rabbit = Some(
                    tokio::task::spawn_blocking(move || {
                        broker.restart();
                        broker
                    })
                    .await
                    .unwrap(),
                );
                "rabbitmq restarted"
            }
        };
        eprintln!("chaos: {fault} at {:.0} s", began.elapsed().as_secs_f64());
        *faults.entry(fault).or_default() += 1;
    }
    let sent = trickle.stop().await;

    let records = settle(&api, &actor, &sent).await;
    let dead = dead_letter_ids(&api, &actor).await;
    let ran = Sent {
        accepted: sent
            .accepted
            .iter()
            .filter(|id| !dead.contains(*id))
            .cloned()
            .collect(),
        refused: sent.refused.clone(),
    };
    let starts = starts.stop().await;
    // A send cut off by a killed service may have been accepted all the same (its answer was
    // lost, not its message): such an execution is allowed, one per send that got no 2xx,
    // and must have settled like the rest.
    let accepted: HashSet<&String> = ran.accepted.iter().collect();
    let (records, unanswered): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| {
        r["id"]
            .as_str()
            .is_some_and(|id| accepted.contains(&id.to_string()))
    });
    assert!(
        unanswered.len() <= sent.refused.len(),
        "{} executions nobody was answered for, but only {} sends went unanswered",
        unanswered.len(),
        sent.refused.len()
    );
    for record in &unanswered {
        let id = record["id"].as_str().unwrap_or_default();
        eventually(
            Duration::from_secs(120),
            "an execution cut off from its answer to settle",
            || async {
                let answer = api
                    .get(&format!("/actors/{actor}/executions/{id}"))
                    .await
                    .ok()?;
                settled(answer.result()).then_some(())
            },
        )
        .await;
    }
    let unanswered_ids: HashSet<&str> =
        unanswered.iter().filter_map(|r| r["id"].as_str()).collect();
    let starts: Vec<_> = starts
        .into_iter()
        .filter(|start| !unanswered_ids.contains(start.execution.as_str()))
        .collect();
    verify("chaos", began, &ran, &records, &starts, &dead_workers);
    eprintln!(
        "chaos: {} accepted ({} dead letters), {} refused ({} of them accepted after all), \
         faults {faults:?}",
        sent.accepted.len(),
        dead.len(),
        sent.refused.len(),
        unanswered.len()
    );
    assert!(
        !faults.is_empty() || secs < 10,
        "a chaos run of {secs} s caused no fault"
    );
}
