//! A webhook receiver on loopback: records every POST it gets, and answers as the test tells
//! it (fail the first few, or hold answers back until released).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use serde_json::Value;

/// One POST as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its JSON body.
    pub body: Value,
    /// The raw body, for signature checks.
    pub raw: Vec<u8>,
    /// Its headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// What the receiver answered.
    pub answered: u16,
    /// Its place among all arrivals, from 0.
    pub arrival: usize,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
    arrivals: AtomicUsize,
    holding: AtomicBool,
}

/// The receiver; it stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// How long a held answer waits at most for its release.
const HOLD_AT_MOST: Duration = Duration::from_secs(60);

impl Receiver {
    /// A receiver answering 503 to its first `fail_first` POSTs and 200 after.
    pub async fn start(fail_first: usize) -> Self {
        let shared = Arc::new(Shared::default());
        shared.fail_first.store(fail_first, Ordering::SeqCst);
        let app = Router::new()
            .route("/hook", post(take))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            shared,
            server,
        }
    }

    /// The URL to register as a webhook.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// From now on, POSTs get no answer until [`Receiver::release`] (or a minute).
    pub fn hold(&self) {
        self.shared.holding.store(true, Ordering::SeqCst);
    }

    /// Answers held POSTs, and the following ones at once.
    pub fn release(&self) {
        self.shared.holding.store(false, Ordering::SeqCst);
    }

    /// POSTs that arrived, answered or not yet.
    pub fn arrivals(&self) -> usize {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// Every POST answered so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// The POSTs answered 200 whose body has `field` equal to `value`.
    pub fn accepted_where(&self, field: &str, value: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered == 200 && r.body[field] == value)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn take(State(shared): State<Arc<Shared>>, headers: HeaderMap, raw: Bytes) -> StatusCode {
    let arrival = shared.arrivals.fetch_add(1, Ordering::SeqCst);
    let since = Instant::now();
    while shared.holding.load(Ordering::SeqCst) && since.elapsed() < HOLD_AT_MOST {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = if arrival < shared.fail_first.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    shared.received.lock().unwrap().push(Received {
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw: raw.to_vec(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        answered: status.as_u16(),
        arrival,
    });
    status
}
