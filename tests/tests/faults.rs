//! Faults while messages flow: a worker killed mid-run, a spawner killed, the broker and the
//! store restarted, `abaco up` killed with messages queued. After each, every message that got
//! a 2xx answer has exactly one execution, COMPLETE or visibly ERROR with a reason, none is
//! left stuck, and Docker started each at most once, except a run that the fault itself
//! killed, which runs again.
//!
//! Tests that restart Redis or RabbitMQ do it on private instances (`PrivateRedis`,
//! `PrivateRabbit`): the shared ones serve the tests running beside these.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use abaco_tests::{
    Api, BackendKind, Platform, PrivateRabbit, PrivateRedis, amqp_url, kill_9, redis_url,
    steps::{eventually, finished, logs_of, register, send},
};
use reqwest::Method;
use serde_json::{Value, json};

/// How long the accepted executions may go without one more of them settling: a stuck one
/// stops that progress for good, while a slow machine only makes each step longer (how many
/// messages a scenario gets accepted depends on how long its fault lasts, so a limit on the
/// total would measure the machine, not the platform).
const STALL_LIMIT: Duration = Duration::from_secs(90);
/// The bound on settling as a whole, however steady the progress.
const SETTLE_LIMIT: Duration = Duration::from_secs(420);
/// What a sleep actor is sent: it sleeps that many seconds.
const NAP: &str = "2";
/// A run that outlasts a broker or store restart.
const LONG_NAP: &str = "15";

/// What became of the messages sent.
#[derive(Debug, Default)]
struct Sent {
    /// Execution ids of the messages that got a 2xx answer.
    accepted: Vec<String>,
    /// The answers (or transport errors) of the messages that did not.
    refused: Vec<String>,
}

impl Sent {
    async fn send(&mut self, api: &Api, actor: &str, message: &str) {
        let answer = api
            .raw(
                Method::POST,
                &format!("/actors/{actor}/messages"),
                "text/plain",
                message.as_bytes().to_vec(),
            )
            .await;
        match answer {
            Ok(answer) if (200..300).contains(&answer.status) => {
                let id = answer.result()["executionId"].as_str();
                let id = id.unwrap_or_else(|| {
                    panic!("a 2xx answer without an executionId: {}", answer.text)
                });
                self.accepted.push(id.to_string());
            }
            Ok(answer) => self
                .refused
                .push(format!("{} {}", answer.status, answer.message())),
            Err(error) => self.refused.push(format!("no answer: {error}")),
        }
    }

    async fn send_many(&mut self, api: &Api, actor: &str, message: &str, count: usize) {
        for _ in 0..count {
            self.send(api, actor, message).await;
        }
    }

    /// Each distinct refusal with how many times it came.
    fn refusals(&self) -> Vec<String> {
        let mut counted: Vec<(String, usize)> = Vec::new();
        for refusal in &self.refused {
            match counted.iter_mut().find(|(text, _)| text == refusal) {
                Some((_, count)) => *count += 1,
                None => counted.push((refusal.clone(), 1)),
            }
        }
        counted
            .into_iter()
            .map(|(text, count)| format!("{count} x {text}"))
            .collect()
    }

    fn merge(&mut self, other: Self) {
        self.accepted.extend(other.accepted);
        self.refused.extend(other.refused);
    }
}

/// Sends a message every 200 ms until stopped: traffic that runs into the fault.
struct Trickle {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Sent>,
}

impl Trickle {
    fn start(api: &Api, actor: &str, message: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (api, actor, message, flag) = (
            api.clone(),
            actor.to_string(),
            message.to_string(),
            stop.clone(),
        );
        let task = tokio::spawn(async move {
            let mut sent = Sent::default();
            while !flag.load(Ordering::SeqCst) {
                sent.send(&api, &actor, &message).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            sent
        });
        Self { stop, task }
    }

    async fn stop(self) -> Sent {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// One container start, as Docker reported it.
#[derive(Debug, Clone)]
struct Start {
    execution: String,
    worker: String,
    /// When, in nanoseconds since the epoch.
    at: u128,
}

/// Nanoseconds since the epoch now, as Docker stamps its events.
fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Docker's own account of container starts for one actor.
struct Starts {
    child: Child,
    seen: Arc<Mutex<Vec<Start>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Starts {
    /// Starts watching; it needs half a second to subscribe.
    async fn watch(actor: &str) -> Self {
        let mut child = Command::new("docker")
            .args(["events", "--filter"])
            .arg(format!("label=org.abaco.actor={actor}"))
            .args(["--filter", "event=start", "--format"])
            .arg(r#"{{index .Actor.Attributes "org.abaco.execution"}} {{index .Actor.Attributes "org.abaco.worker"}} {{.TimeNano}}"#)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = seen.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut parts = line.split_whitespace();
                let execution = parts.next().unwrap_or_default().to_string();
                let worker = parts.next().unwrap_or_default().to_string();
                let at = parts
                    .next()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_default();
                into.lock().unwrap().push(Start {
                    execution,
                    worker,
                    at,
                });
            }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        Self {
            child,
            seen,
            reader: Some(reader),
        }
    }

    fn seen(&self) -> Vec<Start> {
        self.seen.lock().unwrap().clone()
    }

    /// Every start seen, after a moment for the last events to arrive.
    async fn stop(mut self) -> Vec<Start> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.seen()
    }
}

impl Drop for Starts {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (execution, worker) of the actor's containers running now.
fn running_containers(actor: &str) -> Vec<(String, String)> {
    let listed = Command::new("docker")
        .args(["ps", "--filter"])
        .arg(format!("label=org.abaco.actor={actor}"))
        .args(["--filter", "status=running", "--format"])
        .arg(r#"{{.Label "org.abaco.execution"}} {{.Label "org.abaco.worker"}}"#)
        .output()
        .unwrap();
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| {
            let (execution, worker) = line.split_once(' ')?;
            Some((execution.to_string(), worker.to_string()))
        })
        .collect()
}

/// Waits until a container of the actor runs; its (execution, worker).
async fn a_running_container(actor: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(running) = running_containers(actor).into_iter().next() {
            return running;
        }
        assert!(
            Instant::now() < deadline,
            "no container of {actor} ran within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers a sleep actor with two workers.
async fn sleeper_with_two_workers(api: &Api) -> String {
    let answer = api
        .post(
            "/actors",
            &json!({"image": "abaco/sample-sleep", "maxWorkers": 2}),
        )
        .await
        .unwrap();
    let actor = answer.ok()["id"].as_str().unwrap().to_string();
    // Right after start-up the spawner may not have registered yet (its port opens first):
    // 503 "no spawner with free capacity" until it has.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Adding workers is for administrators, as in abaco.
        let workers = api
            .with_header("x-abaco-user", "root")
            .post(&format!("/actors/{actor}/workers"), &json!({"num": 2}))
            .await
            .unwrap();
        if workers.status != 503 || Instant::now() > deadline {
            workers.ok();
            return actor;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The actor's workers' ids, as the API lists them.
async fn worker_ids(api: &Api, actor: &str) -> HashSet<String> {
    let Ok(answer) = api.get(&format!("/actors/{actor}/workers")).await else {
        return HashSet::new();
    };
    answer
        .result()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["id"].as_str().map(str::to_string))
        .collect()
}

fn settled(record: &Value) -> bool {
    record["status"] == "COMPLETE"
        || (record["status"] == "ERROR"
            && !record["statusMessage"]
                .as_str()
                .unwrap_or_default()
                .is_empty())
}

/// Waits until every accepted execution is COMPLETE or ERROR with a reason; the actor's
/// execution records as listed then. Fails when [`STALL_LIMIT`] passes without one more
/// settling, or after [`SETTLE_LIMIT`] in all.
async fn settle(api: &Api, actor: &str, sent: &Sent) -> Vec<Value> {
    let began = Instant::now();
    let mut fewest_pending = usize::MAX;
    let mut last_progress = began;
    loop {
        let listed = api
            .get(&format!("/actors/{actor}/executions"))
            .await
            .ok()
            .and_then(|answer| answer.result()["executions"].as_array().cloned());
        let pending: Vec<String> = match &listed {
            Some(records) => {
                let by_id: HashMap<&str, &Value> = records
                    .iter()
                    .map(|r| (r["id"].as_str().unwrap_or_default(), r))
                    .collect();
                sent.accepted
                    .iter()
                    .filter_map(|id| match by_id.get(id.as_str()) {
                        Some(record) if settled(record) => None,
                        Some(record) => Some(format!(
                            "{id}: {} {:?} (worker {})",
                            record["status"], record["statusMessage"], record["workerId"]
                        )),
                        None => Some(format!("{id}: no record")),
                    })
                    .collect()
            }
            None => vec!["the execution list is unreadable".to_string()],
        };
        if pending.is_empty() {
            return listed.unwrap_or_default();
        }
        if pending.len() < fewest_pending {
            fewest_pending = pending.len();
            last_progress = Instant::now();
        }
        assert!(
            last_progress.elapsed() < STALL_LIMIT && began.elapsed() < SETTLE_LIMIT,
            "{} of {} accepted executions are stuck (neither COMPLETE nor ERROR with a reason; \
             none settled in the last {:.0} s, {:.0} s after settling began):\n{}",
            pending.len(),
            sent.accepted.len(),
            last_progress.elapsed().as_secs_f64(),
            began.elapsed().as_secs_f64(),
            pending.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The checks every scenario ends with. `dead_workers` are workers the fault killed: an
/// execution whose run one of them had started ran again elsewhere (its container died with
/// it, or was removed as an orphan, before the record was written), so it may have one start
/// on a dead worker and one on a live one; any other execution starts at most once.
fn verify(
    scenario: &str,
    started_at: Instant,
    sent: &Sent,
    records: &[Value],
    starts: &[Start],
    dead_workers: &HashSet<String>,
) {
    let accepted: HashSet<&str> = sent.accepted.iter().map(String::as_str).collect();
    assert_eq!(
        accepted.len(),
        sent.accepted.len(),
        "two accepted messages share an execution id"
    );
    let listed: Vec<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    let unique: HashSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "an execution is listed twice");
    let phantoms: Vec<&&str> = unique.difference(&accepted).collect();
    assert!(
        phantoms.is_empty(),
        "executions nobody got a 2xx for (a refused message ran?): {phantoms:?}; refused: {:?}",
        sent.refusals()
    );

    let mut complete = 0;
    let mut errors = Vec::new();
    for record in records {
        let id = record["id"].as_str().unwrap_or_default();
        match record["status"].as_str() {
            Some("COMPLETE") => {
                assert_eq!(record["exitCode"], 0, "{record}");
                complete += 1;
            }
            Some("ERROR") if settled(record) => {
                errors.push(format!("{id}: {}", record["statusMessage"]));
            }
            _ => panic!("unsettled execution {record}"),
        }
    }
    assert_eq!(
        complete + errors.len(),
        sent.accepted.len(),
        "accepted == COMPLETE + ERROR with a reason"
    );

    let ran_unaccepted: Vec<&Start> = starts
        .iter()
        .filter(|start| !accepted.contains(start.execution.as_str()))
        .collect();
    assert!(
        ran_unaccepted.is_empty(),
        "containers ran for messages that were not accepted: {ran_unaccepted:?}"
    );
    let mut reruns = 0;
    for record in records {
        let id = record["id"].as_str().unwrap_or_default();
        let (on_dead, on_live): (Vec<_>, Vec<_>) = starts
            .iter()
            .filter(|start| start.execution == id)
            .partition(|start| dead_workers.contains(&start.worker));
        assert!(
            on_live.len() <= 1 && on_dead.len() <= 1,
            "execution {id} ({}) started {} times on live workers and {} times on killed \
             workers {dead_workers:?}: {:?}",
            record["status"],
            on_live.len(),
            on_dead.len(),
            on_live.iter().chain(&on_dead).collect::<Vec<_>>()
        );
        if record["status"] == "COMPLETE" {
            assert!(
                !on_live.is_empty() || !on_dead.is_empty(),
                "COMPLETE execution {id} never started a container: {record}"
            );
        }
        if !on_live.is_empty() && !on_dead.is_empty() {
            reruns += 1;
        }
    }
    eprintln!(
        "{scenario}: {} accepted = {complete} COMPLETE + {} ERROR; {} refused; {reruns} re-run \
         after the fault; {} container starts; settled {:.1} s after the first message\n  \
         errors: {errors:?}\n  refused: {:?}",
        sent.accepted.len(),
        errors.len(),
        sent.refused.len(),
        starts.len(),
        started_at.elapsed().as_secs_f64(),
        sent.refusals(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_run() {
    let platform = Platform::start(BackendKind::Distributed).await;
    let api = &platform.api;
    let actor = sleeper_with_two_workers(api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    let mut sent = Sent::default();
    sent.send_many(api, &actor, NAP, 10).await;

    let (execution, victim) = a_running_container(&actor).await;
    let pids = platform.worker_pids(Some(&victim));
    assert_eq!(pids.len(), 1, "one process for worker {victim}: {pids:?}");
    kill_9(pids[0]);
    eprintln!("killed worker {victim} while it ran {execution}");
    sent.send_many(api, &actor, NAP, 10).await;

    let records = settle(api, &actor, &sent).await;
    let starts = starts.stop().await;
    verify(
        "worker_killed_mid_run",
        began,
        &sent,
        &records,
        &starts,
        &HashSet::from([victim]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawner_killed() {
    let mut platform = Platform::start(BackendKind::Distributed).await;
    let api = platform.api.clone();
    let actor = sleeper_with_two_workers(&api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    let mut sent = Sent::default();
    sent.send_many(&api, &actor, NAP, 10).await;

    a_running_container(&actor).await;
    let workers_before = platform.worker_pids(Some(&actor));
    // SIGKILL to the spawner alone: its worker processes go on, and so must their runs.
    platform.restart_component("spawner");
    sent.send_many(&api, &actor, NAP, 10).await;
    for pid in &workers_before {
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "worker process {pid} died with its spawner"
        );
    }

    // An actor registered after the crash needs a worker from the new spawner.
    let later = api
        .post("/actors", &json!({"image": "abaco/sample-echo"}))
        .await
        .unwrap();
    let later = later.ok()["id"].as_str().unwrap().to_string();
    let mut later_sent = Sent::default();
    later_sent
        .send_many(&api, &later, "after the crash", 3)
        .await;

    let records = settle(&api, &actor, &sent).await;
    let starts = starts.stop().await;
    verify(
        "spawner_killed",
        began,
        &sent,
        &records,
        &starts,
        &HashSet::new(),
    );
    let later_records = settle(&api, &later, &later_sent).await;
    assert!(
        later_records.iter().all(|r| r["status"] == "COMPLETE"),
        "{later_records:?}"
    );
    assert_eq!(later_records.len(), later_sent.accepted.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart() {
    // Runs of 2 s: those going when the broker dies end during its ~8 s restart, and their
    // acks fail; the redeliveries find them recorded.
    broker_restart_scenario("broker_restart", NAP).await;
}

// The runs going when the broker dies outlast its restart. Their messages come back
// (redelivered) to the other worker while their owners still run them; the other worker must
// see that the owner is alive and wait for its record instead of running the message again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_while_runs_outlast_it() {
    broker_restart_scenario("broker_restart_while_runs_outlast_it", LONG_NAP).await;
}

/// A private RabbitMQ killed and booted again on the same data while the first two messages
/// (sleeping `first_nap` seconds) run, with messages coming in meanwhile.
async fn broker_restart_scenario(scenario: &str, first_nap: &str) {
    let rabbit = PrivateRabbit::start();
    let platform =
        Platform::start_with_urls(BackendKind::Distributed, redis_url(), rabbit.url()).await;
    let api = &platform.api;
    let actor = sleeper_with_two_workers(api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    let mut sent = Sent::default();
    sent.send_many(api, &actor, first_nap, 2).await;
    sent.send_many(api, &actor, NAP, 8).await;

    a_running_container(&actor).await;
    let trickle = Trickle::start(api, &actor, NAP);
    let restarted = tokio::task::spawn_blocking(move || {
        let mut rabbit = rabbit;
        rabbit.restart();
        rabbit
    });
    let _rabbit = restarted.await.unwrap();
    sent.merge(trickle.stop().await);
    sent.send_many(api, &actor, NAP, 10).await;

    let records = settle(api, &actor, &sent).await;
    let starts = starts.stop().await;
    verify(scenario, began, &sent, &records, &starts, &HashSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart() {
    let redis = PrivateRedis::start();
    let platform =
        Platform::start_with_urls(BackendKind::Distributed, redis.url(), amqp_url()).await;
    let api = &platform.api;
    let actor = sleeper_with_two_workers(api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    let mut sent = Sent::default();
    sent.send_many(api, &actor, NAP, 10).await;

    a_running_container(&actor).await;
    // Killed, two seconds down with messages coming in, then started on its AOF.
    let trickle = Trickle::start(api, &actor, NAP);
    let restarted = tokio::task::spawn_blocking(move || {
        let mut redis = redis;
        redis.kill_9();
        std::thread::sleep(Duration::from_secs(2));
        redis.restart();
        redis
    });
    let _redis = restarted.await.unwrap();
    sent.merge(trickle.stop().await);
    sent.send_many(api, &actor, NAP, 10).await;

    let records = settle(api, &actor, &sent).await;
    let starts = starts.stop().await;
    verify(
        "redis_restart",
        began,
        &sent,
        &records,
        &starts,
        &HashSet::new(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_up_killed_with_messages_queued() {
    let mut platform = Platform::start(BackendKind::Embedded).await;
    let api = platform.api.clone();
    let actor = sleeper_with_two_workers(&api).await;
    let starts = Starts::watch(&actor).await;
    let began = Instant::now();
    let mut sent = Sent::default();
    sent.send_many(&api, &actor, NAP, 20).await;

    a_running_container(&actor).await;
    // Every worker of `up` dies with it; the runs they had started die too (their containers
    // are orphans the restarted platform removes), so those executions run again.
    let mut dead_workers = worker_ids(&api, &actor).await;
    let trickle = Trickle::start(&api, &actor, NAP);
    let killed_at = now_nanos();
    platform.crash_and_restart().await;
    sent.merge(trickle.stop().await);
    sent.send_many(&api, &actor, NAP, 5).await;

    let records = settle(&api, &actor, &sent).await;
    let starts = starts.stop().await;
    dead_workers.extend(
        starts
            .iter()
            .filter(|start| start.at < killed_at)
            .map(|start| start.worker.clone()),
    );
    verify(
        "embedded_up_killed_with_messages_queued",
        began,
        &sent,
        &records,
        &starts,
        &dead_workers,
    );
}

// The messages service down while the gateway and the rest run: sends are refused with a 503
// that names no address, reads still work, and sends are accepted again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_service_down_refuses_sends_until_it_is_back() {
    let mut platform = Platform::start(BackendKind::Distributed).await;
    let actor = register(
        &platform.api,
        json!({"image": "abaco/sample-sleep", "minWorkers": 0}),
    )
    .await;
    let messages_addr = platform.component_addr("messages").unwrap().to_string();
    platform.kill_component("messages");

    let mut down = Sent::default();
    down.send(&platform.api, &actor, "0").await;
    assert!(
        down.accepted.is_empty(),
        "accepted with no messages service"
    );
    let refusal = &down.refused[0];
    assert!(
        refusal.starts_with("503 "),
        "a send with the messages service down answers 503: {refusal}"
    );
    assert!(
        !refusal.contains(&messages_addr) && !refusal.contains("127.0.0.1"),
        "the refusal names an address: {refusal}"
    );
    let read = platform.api.get(&format!("/actors/{actor}")).await.unwrap();
    assert_eq!(read.status, 200, "reads go to registration, which is up");

    platform.start_component("messages");
    eventually(
        Duration::from_secs(30),
        "a send to be accepted once the messages service is back",
        || async {
            let mut attempt = Sent::default();
            attempt.send(&platform.api, &actor, "0").await;
            attempt.accepted.pop()
        },
    )
    .await;
}

/// With `gateway_messages = in-process` the gateway hosts its own instance of the messages
/// service: REST sends, counts and results go on with the messages process gone (gRPC
/// clients of that process are what lose it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_hosting_messages_serves_rest_sends_without_the_messages_process() {
    let mut platform = Platform::start_with_settings(
        BackendKind::Distributed,
        &[
            ("ABACO_GATEWAY_MESSAGES", "in-process"),
            ("ABACO_BACKEND", "distributed"),
        ],
    )
    .await;
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    let before = send(api, &actor, "", "text/plain", b"before".to_vec()).await;
    assert_eq!(
        finished(api, &actor, &before, Duration::from_secs(60)).await["status"],
        "COMPLETE"
    );

    platform.kill_component("messages");
    let api = &platform.api;
    let after = send(api, &actor, "", "text/plain", b"after".to_vec()).await;
    let record = finished(api, &actor, &after, Duration::from_secs(60)).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(api, &actor, &after).await;
    assert!(
        logs.contains("MSG=after"),
        "the run saw its message: {logs}"
    );
    let count = api.get(&format!("/actors/{actor}/messages")).await.unwrap();
    assert_eq!(count.ok()["messages"], 0, "{}", count.text);
}
