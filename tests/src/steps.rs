//! Steps most scenarios take: register, send, wait for an outcome, read logs.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::Api;

/// Polls `check` every 100 ms until it returns `Some`; panics naming `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers an actor; its id.
pub async fn register(api: &Api, body: Value) -> String {
    let answer = api.post("/actors", &body).await.unwrap();
    answer.ok()["id"].as_str().unwrap().to_string()
}

/// Sends a message (`query` is appended to the path, e.g. `?x=1`); its execution id.
pub async fn send(
    api: &Api,
    actor: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> String {
    let answer = api
        .raw(
            Method::POST,
            &format!("/actors/{actor}/messages{query}"),
            content_type,
            body,
        )
        .await
        .unwrap();
    answer.ok()["executionId"].as_str().unwrap().to_string()
}

/// The execution record once it is COMPLETE or ERROR.
pub async fn finished(api: &Api, actor: &str, execution: &str, limit: Duration) -> Value {
    eventually(limit, "the execution to finish", || async {
        let answer = api
            .get(&format!("/actors/{actor}/executions/{execution}"))
            .await
            .ok()?;
        let status = answer.result()["status"].as_str()?.to_string();
        (status == "COMPLETE" || status == "ERROR").then(|| answer.result().clone())
    })
    .await
}

/// Waits until the execution is RUNNING.
pub async fn running(api: &Api, actor: &str, execution: &str, limit: Duration) {
    eventually(limit, "the execution to run", || async {
        let answer = api
            .get(&format!("/actors/{actor}/executions/{execution}"))
            .await
            .ok()?;
        (answer.result()["status"] == "RUNNING").then_some(())
    })
    .await;
}

/// The logs of an execution.
pub async fn logs_of(api: &Api, actor: &str, execution: &str) -> String {
    let answer = api
        .get(&format!("/actors/{actor}/executions/{execution}/logs"))
        .await
        .unwrap();
    answer.ok()["logs"].as_str().unwrap().to_string()
}

/// The actor's workers as the API lists them.
pub async fn workers(api: &Api, actor: &str) -> Vec<Value> {
    let answer = api.get(&format!("/actors/{actor}/workers")).await.unwrap();
    answer.ok().as_array().cloned().unwrap_or_default()
}

/// Watches Docker start containers for an actor: the engine's own account of how often each
/// execution ran.
#[derive(Debug)]
pub struct ContainerStarts(std::process::Child);

impl ContainerStarts {
    /// Starts watching; give it half a second to subscribe before containers start.
    pub fn watch(actor: &str) -> Self {
        let child = std::process::Command::new("docker")
            .args([
                "events",
                "--filter",
                &format!("label=org.abaco.actor={actor}"),
            ])
            // Runs only: a worker's network holder carries no execution.
            .args(["--filter", "label=org.abaco.execution"])
            .args(["--filter", "event=start"])
            .args([
                "--format",
                r#"{{index .Actor.Attributes "org.abaco.execution"}}"#,
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Self(child)
    }

    /// Execution ids, one per container start seen so far.
    pub fn stop(mut self) -> Vec<String> {
        use std::io::Read;
        let _ = self.0.kill();
        let mut seen = String::new();
        self.0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut seen)
            .unwrap();
        let _ = self.0.wait();
        seen.lines().map(str::to_string).collect()
    }
}

/// Ids of the run containers of a platform (by namespace) that Docker has now; its workers'
/// network holders are not runs (see [`containers_of_worker`]).
pub fn containers_of(namespace: &str) -> Vec<String> {
    docker_ps(&[
        format!("label=org.abaco.namespace={namespace}"),
        "label=org.abaco.execution".to_string(),
    ])
}

/// Ids of every container of one worker: its runs and its network holder.
pub fn containers_of_worker(namespace: &str, worker: &str) -> Vec<String> {
    docker_ps(&[
        format!("label=org.abaco.namespace={namespace}"),
        format!("label=org.abaco.worker={worker}"),
    ])
}

/// Ids of the network holders of a platform's workers.
pub fn holders_of(namespace: &str) -> Vec<String> {
    docker_ps(&[
        format!("label=org.abaco.namespace={namespace}"),
        "label=org.abaco.role=network".to_string(),
    ])
}

/// Ids of the hot containers of a platform's workers.
pub fn hot_containers_of(namespace: &str) -> Vec<String> {
    docker_ps(&[
        format!("label=org.abaco.namespace={namespace}"),
        "label=org.abaco.role=hot".to_string(),
    ])
}

fn docker_ps(filters: &[String]) -> Vec<String> {
    let mut command = std::process::Command::new("docker");
    command.args(["ps", "-aq", "--no-trunc"]);
    for filter in filters {
        command.arg("--filter").arg(filter);
    }
    let listed = command.output().unwrap();
    String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
