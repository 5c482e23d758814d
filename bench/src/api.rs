//! The few REST calls the benchmarks make, over one pooled HTTP client.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The platform's REST API.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// How often a waiting loop asks for a status: small, so the wait adds little to latencies.
pub const POLL: Duration = Duration::from_millis(2);

impl Api {
    /// The API at `addr`.
    pub fn new(addr: SocketAddr) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self {
            http,
            base: format!("http://{addr}"),
        })
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value> {
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.context("reading the envelope")?;
        if !status.is_success() {
            bail!("HTTP {status}: {}", body["message"]);
        }
        Ok(body["result"].clone())
    }

    /// `GET /actors`.
    pub async fn list_actors(&self) -> Result<Value> {
        self.call(self.http.get(format!("{}/actors", self.base)))
            .await
    }

    /// `GET` of `path_and_query`; the envelope's result.
    pub async fn get(&self, path_and_query: &str) -> Result<Value> {
        self.call(self.http.get(format!("{}{path_and_query}", self.base)))
            .await
    }

    /// Registers an actor from a JSON spec; its id.
    pub async fn create_actor(&self, spec: &Value) -> Result<String> {
        let actor = self
            .call(self.http.post(format!("{}/actors", self.base)).json(spec))
            .await?;
        actor["id"]
            .as_str()
            .map(str::to_string)
            .context("no actor id in the answer")
    }

    /// The actor's status (`SUBMITTED`, `READY`, `ERROR`, ...).
    pub async fn actor_status(&self, actor: &str) -> Result<String> {
        let actor = self
            .call(self.http.get(format!("{}/actors/{actor}", self.base)))
            .await?;
        Ok(actor["status"].as_str().unwrap_or_default().to_string())
    }

    /// Polls the actor until its status is one of `wanted`; that status.
    pub async fn wait_actor(
        &self,
        actor: &str,
        wanted: &[&str],
        limit: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.actor_status(actor).await?;
            if wanted.contains(&status.as_str()) {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("actor {actor} still {status} after {limit:?}, wanted {wanted:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Deletes an actor (its workers and mailbox go with it).
    pub async fn delete_actor(&self, actor: &str) -> Result<()> {
        self.call(self.http.delete(format!("{}/actors/{actor}", self.base)))
            .await
            .map(drop)
    }

    /// `GET` of a path the gateway does not serve, expecting its 404: a REST round trip
    /// through the client, HTTP and the gateway's layers that reaches no service.
    pub async fn not_found(&self) -> Result<()> {
        let response = self
            .http
            .get(format!("{}/abaco-bench/no-such-route", self.base))
            .send()
            .await?;
        let status = response.status();
        response.bytes().await?;
        if status != reqwest::StatusCode::NOT_FOUND {
            bail!("expected HTTP 404 for an unknown path, got {status}");
        }
        Ok(())
    }

    /// Sends a JSON message; its execution id.
    pub async fn send(&self, actor: &str, body: &str) -> Result<String> {
        let result = self
            .call(
                self.http
                    .post(format!("{}/actors/{actor}/messages", self.base))
                    .header("content-type", "application/json")
                    .body(body.to_string()),
            )
            .await?;
        result["executionId"]
            .as_str()
            .map(str::to_string)
            .context("no executionId in the answer")
    }

    /// An execution's record.
    pub async fn execution(&self, actor: &str, execution: &str) -> Result<Value> {
        self.call(self.http.get(format!(
            "{}/actors/{actor}/executions/{execution}",
            self.base
        )))
        .await
    }

    /// An execution's status.
    pub async fn execution_status(&self, actor: &str, execution: &str) -> Result<String> {
        let result = self.execution(actor, execution).await?;
        Ok(result["status"].as_str().unwrap_or_default().to_string())
    }

    /// Polls an execution until its status is not one of `passing`; that status.
    pub async fn wait_execution(
        &self,
        actor: &str,
        execution: &str,
        passing: &[&str],
        limit: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.execution_status(actor, execution).await?;
            if !passing.contains(&status.as_str()) {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("execution {execution} still {status} after {limit:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Statuses of every execution of an actor.
    pub async fn execution_statuses(&self, actor: &str) -> Result<Vec<String>> {
        let result = self
            .call(
                self.http
                    .get(format!("{}/actors/{actor}/executions", self.base)),
            )
            .await?;
        Ok(result["executions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| e["status"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// How many of the actor's workers are READY.
    pub async fn ready_workers(&self, actor: &str) -> Result<usize> {
        let result = self
            .call(
                self.http
                    .get(format!("{}/actors/{actor}/workers", self.base)),
            )
            .await?;
        let list = result.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .filter(|w| w["status"] == json!("READY"))
            .count())
    }
}

impl Api {
    /// Empties the actor's mailbox.
    pub async fn purge(&self, actor: &str) -> Result<()> {
        self.call(
            self.http
                .delete(format!("{}/actors/{actor}/messages", self.base)),
        )
        .await
        .map(drop)
    }
}
