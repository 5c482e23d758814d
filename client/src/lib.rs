//! A client of abaco's REST API (the gateway), for people and scripts: it sends the caller's
//! token (or, against a development platform in `header` mode, its user name), unwraps abaco's
//! envelope, and turns error answers into [`ClientError::Api`] with the platform's message.

mod sse;

use std::time::Duration;

use serde_json::Value;

pub use sse::{LogEvent, LogStream};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not an http(s) URL.
    #[error("{url:?} is not a URL of the platform: {reason}")]
    BadUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The platform could not be reached, or the connection broke.
    #[error("could not reach the platform at {base}: {source}")]
    Unreachable {
        /// The base URL.
        base: String,
        /// What the HTTP client said.
        source: reqwest::Error,
    },
    /// The platform answered with an error.
    #[error("{message} (HTTP {status})")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The envelope's message, or the body when there is no envelope.
        message: String,
    },
    /// The answer was not what abaco answers.
    #[error("unexpected answer from the platform: {0}")]
    Unexpected(String),
}

/// What a synchronous message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synchronous {
    /// The run ended: its results' bytes, or its logs when it wrote none.
    Finished(Vec<u8>),
    /// The run outlasted the platform's wait (`sync_wait_secs`) and goes on.
    StillRunning {
        /// The execution to look at later.
        execution_id: String,
        /// The platform's words.
        message: String,
    },
}

/// How the client says who it is.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    /// Nothing: the platform's default user (development platforms only).
    #[default]
    None,
    /// A JWT, as `Authorization: Bearer`.
    Token(String),
    /// A user name, as `X-Abaco-User` (platforms in `header` mode).
    User(String),
}

/// A client of one platform.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    credentials: Credentials,
    /// Longest a call may take; following logs has none.
    timeout: Duration,
}

/// The body of a message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The bytes sent.
    pub body: Vec<u8>,
    /// Their content type (`text/plain`, `application/json`, `application/octet-stream`).
    pub content_type: String,
    /// Query parameters, which abaco hands the run as environment variables.
    pub params: Vec<(String, String)>,
}

impl Client {
    /// A client of the platform at `base` (e.g. `http://127.0.0.1:8000`); each call gives up
    /// after `timeout`, except following logs.
    pub fn new(
        base: &str,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: base.to_string(),
            reason,
        };
        let parsed = url::Url::parse(base).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("it must start with http:// or https://".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            credentials,
            timeout,
        })
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.credentials {
            Credentials::None => request,
            Credentials::Token(token) => request.bearer_auth(token),
            Credentials::User(user) => request.header("x-abaco-user", user),
        }
    }

    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            base: self.base.clone(),
            source,
        }
    }

    /// Sends `request` and returns the envelope's `result`.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let (status, text) = self.exchange(request.timeout(self.timeout)).await?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|_| ClientError::Unexpected(format!("HTTP {status}: {}", excerpt(&text))))?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body, &text));
        }
        Ok(body.get("result").cloned().unwrap_or(Value::Null))
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, String), ClientError> {
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        Ok((status, text))
    }

    /// `GET path`: its result.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call(self.request(reqwest::Method::GET, path)).await
    }

    /// `DELETE path`: its result.
    pub async fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.call(self.request(reqwest::Method::DELETE, path)).await
    }

    /// `method path` with a JSON body: its result.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, ClientError> {
        self.call(self.request(method, path).json(body)).await
    }

    /// Sends `message` to `actor`: the answer's result (`executionId` among its fields).
    pub async fn send(&self, actor: &str, message: Message) -> Result<Value, ClientError> {
        let request = self
            .request(reqwest::Method::POST, &format!("/actors/{actor}/messages"))
            .query(&message.params)
            .header("content-type", message.content_type)
            .body(message.body);
        self.call(request).await
    }

    /// Sends `message` and waits for the run (`_abaco_synchronous`): what the run left as its
    /// result, as bytes, or the execution that outlasted the platform's wait.
    pub async fn send_synchronous(
        &self,
        actor: &str,
        message: Message,
    ) -> Result<Synchronous, ClientError> {
        let request = self
            .request(reqwest::Method::POST, &format!("/actors/{actor}/messages"))
            .query(&message.params)
            .query(&[("_abaco_synchronous", "true")])
            .header("content-type", message.content_type)
            .body(message.body)
            .timeout(self.timeout);
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status == 202 {
            // The run goes on; the envelope names it.
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Unexpected(format!("a 202 without its envelope: {e}")))?;
            return Ok(Synchronous::StillRunning {
                execution_id: body["result"]["executionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                message: body["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if (200..300).contains(&status) {
            return Ok(Synchronous::Finished(bytes.to_vec()));
        }
        let text = String::from_utf8_lossy(&bytes);
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Err(api_error(status, &body, &text))
    }

    /// The output of a run as it happens, to its end.
    pub async fn follow_logs(
        &self,
        actor: &str,
        execution: &str,
    ) -> Result<LogStream, ClientError> {
        let path = format!("/actors/{actor}/executions/{execution}/logs?follow=true");
        let response = self
            .request(reqwest::Method::GET, &path)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.text().await.map_err(|e| self.unreachable(e))?;
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(api_error(status, &body, &text));
        }
        Ok(LogStream::new(response, self.base.clone()))
    }
}

/// The error an answer with `status` and `body` (abaco's envelope, when it is one) stands for.
fn api_error(status: u16, body: &Value, text: &str) -> ClientError {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| excerpt(text), str::to_string);
    ClientError::Api { status, message }
}

/// The start of `text`, for messages about answers that are not abaco's.
fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}
