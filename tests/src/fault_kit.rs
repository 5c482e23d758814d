//! What the fault drills and the chaos run share: sending while things break ([`Sent`],
//! [`Trickle`]), Docker's own account of container starts ([`Starts`]), waiting until every
//! accepted message has settled ([`settle`]) and the checks they all end with ([`verify`]).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::missing_panics_doc)]

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

use reqwest::Method;
use serde_json::{Value, json};

use crate::Api;

/// How long the accepted executions may go without one more of them settling: a stuck one
/// stops that progress for good, while a slow machine only makes each step longer (how many
/// messages a scenario gets accepted depends on how long its fault lasts, so a limit on the
/// total would measure the machine, not the platform).
pub const STALL_LIMIT: Duration = Duration::from_secs(90);
/// The bound on settling as a whole, however steady the progress.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(420);
/// What a sleep actor is sent: it sleeps that many seconds.
pub const NAP: &str = "2";
/// A run that outlasts a broker or store restart.
pub const LONG_NAP: &str = "15";

/// What became of the messages sent.
#[derive(Debug, Default)]
pub struct Sent {
    /// Execution ids of the messages that got a 2xx answer.
    pub accepted: Vec<String>,
    /// The answers (or transport errors) of the messages that did not.
    pub refused: Vec<String>,
}

impl Sent {
    pub async fn send(&mut self, api: &Api, actor: &str, message: &str) {
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

    pub async fn send_many(&mut self, api: &Api, actor: &str, message: &str, count: usize) {
        for _ in 0..count {
            self.send(api, actor, message).await;
        }
    }

    /// Each distinct refusal with how many times it came.
    pub fn refusals(&self) -> Vec<String> {
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

    pub fn merge(&mut self, other: Self) {
        self.accepted.extend(other.accepted);
        self.refused.extend(other.refused);
    }
}

/// Sends a message every 200 ms until stopped: traffic that runs into the fault.
#[derive(Debug)]
pub struct Trickle {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Sent>,
}

impl Trickle {
    pub fn start(api: &Api, actor: &str, message: &str) -> Self {
        Self::start_every(api, actor, message, Duration::from_millis(200))
    }

    /// Sends a message every `interval` until stopped.
    pub fn start_every(api: &Api, actor: &str, message: &str, interval: Duration) -> Self {
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
                tokio::time::sleep(interval).await;
            }
            sent
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Sent {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// One container start, as Docker reported it.
#[derive(Debug, Clone)]
pub struct Start {
    /// The execution it ran.
    pub execution: String,
    /// The worker that started it.
    pub worker: String,
    /// When, in nanoseconds since the epoch.
    pub at: u128,
}

/// Nanoseconds since the epoch now, as Docker stamps its events.
pub fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Docker's own account of container starts for one actor.
#[derive(Debug)]
pub struct Starts {
    child: Child,
    seen: Arc<Mutex<Vec<Start>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Starts {
    /// Starts watching; it needs half a second to subscribe.
    pub async fn watch(actor: &str) -> Self {
        let mut child = Command::new("docker")
            .args(["events", "--filter"])
            .arg(format!("label=org.abaco.actor={actor}"))
            // Runs only: a worker's network holder carries no execution.
            .args(["--filter", "label=org.abaco.execution"])
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

    pub fn seen(&self) -> Vec<Start> {
        self.seen.lock().unwrap().clone()
    }

    /// Every start seen, after a moment for the last events to arrive.
    pub async fn stop(mut self) -> Vec<Start> {
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
pub fn running_containers(actor: &str) -> Vec<(String, String)> {
    let listed = Command::new("docker")
        .args(["ps", "--filter"])
        .arg(format!("label=org.abaco.actor={actor}"))
        .args(["--filter", "label=org.abaco.execution"])
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
pub async fn a_running_container(actor: &str) -> (String, String) {
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
pub async fn sleeper_with_two_workers(api: &Api) -> String {
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
pub async fn worker_ids(api: &Api, actor: &str) -> HashSet<String> {
    listed_ids(api, &format!("/actors/{actor}/workers")).await
}

/// Ids of the actor's dead letters (the execution ids their messages were accepted as).
pub async fn dead_letter_ids(api: &Api, actor: &str) -> HashSet<String> {
    listed_ids(api, &format!("/actors/{actor}/deadletters")).await
}

/// The `id` of each record a list route answers; none when it cannot be read.
async fn listed_ids(api: &Api, path: &str) -> HashSet<String> {
    let Ok(answer) = api.get(path).await else {
        return HashSet::new();
    };
    answer
        .result()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|record| record["id"].as_str().map(str::to_string))
        .collect()
}

pub fn settled(record: &Value) -> bool {
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
pub async fn settle(api: &Api, actor: &str, sent: &Sent) -> Vec<Value> {
    let began = Instant::now();
    let mut fewest_pending = usize::MAX;
    let mut last_progress = began;
    loop {
        let listed = api
            .get(&format!("/actors/{actor}/executions"))
            .await
            .ok()
            .and_then(|answer| answer.result()["executions"].as_array().cloned());
        // A message put aside as a dead letter has settled too (its record was lost).
        let dead = dead_letter_ids(api, actor).await;
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
                        None if dead.contains(id) => None,
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
pub fn verify(
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
        // Once on live workers at most, and at most once on each killed one (a run that a
        // killed worker had going runs again; with several faults, more than once).
        let killed: HashSet<&str> = on_dead.iter().map(|start| start.worker.as_str()).collect();
        assert!(
            on_live.len() <= 1 && killed.len() == on_dead.len(),
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
