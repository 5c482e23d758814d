//! A small REST client that returns status and envelope together.

use std::net::SocketAddr;

use serde_json::Value;

/// The REST API of one platform, as one caller (the headers every request carries).
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    headers: Vec<(String, String)>,
}

/// One answer: HTTP status and the parsed body (the envelope).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
    /// The answer's headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// `result` of the envelope.
    pub fn result(&self) -> &Value {
        &self.body["result"]
    }

    /// `message` of the envelope.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// Asserts a success envelope with this status and returns its result.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(
            (200..300).contains(&self.status) && self.body["status"] == "success",
            "expected success, got {} {}",
            self.status,
            self.text
        );
        self.result()
    }

    /// Asserts a success envelope and returns the `id` of its result (an actor's, a nonce's).
    #[track_caller]
    pub fn id(&self) -> String {
        self.ok()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
            .to_string()
    }

    /// Asserts an error envelope with this status whose message mentions `needle`.
    #[track_caller]
    pub fn error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["status"], "error", "{}", self.text);
        assert!(self.body["version"].is_string(), "{}", self.text);
        assert!(
            self.message()
                .to_lowercase()
                .contains(&needle.to_lowercase()),
            "message {:?} should mention {needle:?}",
            self.message()
        );
    }
}

impl Api {
    /// The API served at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    /// The same API, every request of which also carries `name: value` (a token, a user).
    pub fn with_header(&self, name: &str, value: &str) -> Self {
        let mut api = self.clone();
        api.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        api.headers.push((name.to_owned(), value.to_owned()));
        api
    }

    /// The same API as the bearer of `token`.
    pub fn with_token(&self, token: &str) -> Self {
        self.with_header("authorization", &format!("Bearer {token}"))
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> reqwest::Result<Answer> {
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            body,
            text,
            headers,
        })
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Result<Answer> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// PATCH a JSON body (ours: changes only the fields given).
    pub async fn patch(&self, path: &str, body: &Value) -> reqwest::Result<Answer> {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// Any method with a JSON body (`None`: no body).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<Answer> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// POST a form body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Result<Answer> {
        self.send(self.http.post(format!("{}{path}", self.base)).form(fields))
            .await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> reqwest::Result<Answer> {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Result<Answer> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// PUT a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Result<Answer> {
        self.send(self.http.put(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// Any method, raw body and content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Result<Answer> {
        self.send(
            self.http
                .request(method, format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    /// Registers an actor with this image; its id.
    pub async fn register(&self, image: &str) -> String {
        let answer = self
            .post("/actors", &serde_json::json!({ "image": image }))
            .await
            .unwrap();
        answer.ok()["id"].as_str().unwrap().to_string()
    }
}
