//! Webhooks: the event as a JSON POST, signed when a secret is set, retried with growing
//! pauses while the receiver fails in a way that may pass.

use std::time::Duration;

use abaco::secret::Secret;
use backon::{ExponentialBuilder, Retryable};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    address::{PublicOnly, is_public, shown},
    deliverer::DeliverySettings,
    event::Envelope,
};

/// Header with `sha256=<hex HMAC-SHA256 of the body>` under the webhook secret, for
/// receivers to check that a POST came from this platform unaltered.
pub const SIGNATURE_HEADER: &str = "X-Abaco-Signature";
/// Header with the event's id: the same on every repeat of the event.
pub const EVENT_ID_HEADER: &str = "X-Abaco-Event-Id";
/// Header with the event's type.
pub const EVENT_TYPE_HEADER: &str = "X-Abaco-Event";

/// The signature header's value for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256=");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// Why one POST failed.
#[derive(Debug, thiserror::Error)]
enum PostError {
    /// Worth trying again: no connection, a timeout, a 5xx, 408 or 429.
    #[error("{0}")]
    Transient(String),
    /// The receiver refused the event (another 4xx): asking again gets the same answer.
    #[error("{0}")]
    Refused(String),
}

/// Posts events to webhooks.
#[derive(Debug, Clone)]
pub(crate) struct Webhooks {
    client: reqwest::Client,
    secret: Option<Secret>,
    backoff: ExponentialBuilder,
    private_addresses: bool,
}

impl Webhooks {
    pub(crate) fn new(settings: &DeliverySettings) -> Result<Self, reqwest::Error> {
        let mut client = reqwest::Client::builder();
        if !settings.webhook_private_addresses {
            client = client.dns_resolver(std::sync::Arc::new(PublicOnly));
        }
        let client = client
            .timeout(settings.webhook_timeout)
            .connect_timeout(settings.webhook_timeout)
            .user_agent(concat!("abaco/", env!("CARGO_PKG_VERSION")))
            // A redirect would take the event, and its signature, somewhere the actor's owner
            // did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(settings.backoff_min)
            .with_max_delay(settings.backoff_max)
            .with_max_times(settings.webhook_attempts.saturating_sub(1) as usize)
            .with_jitter();
        Ok(Self {
            client,
            secret: settings.webhook_secret.clone(),
            backoff,
            private_addresses: settings.webhook_private_addresses,
        })
    }

    /// Posts `envelope` to its webhook until the receiver takes it or the attempts run out;
    /// the last reason when it never took it.
    pub(crate) async fn deliver(&self, envelope: &Envelope) -> Result<u32, String> {
        let body = payload(envelope);
        let mut attempts = 0;
        let posted = (|| {
            attempts += 1;
            self.post(envelope, &body)
        })
        .retry(self.backoff)
        .when(|error| matches!(error, PostError::Transient(_)))
        .notify(|error, pause: Duration| {
            tracing::info!(event = %envelope.id, webhook = %shown(&envelope.webhook), %error, ?pause, "webhook failed; trying again");
        })
        .await;
        posted.map(|()| attempts).map_err(|error| error.to_string())
    }

    async fn post(&self, envelope: &Envelope, body: &[u8]) -> Result<(), PostError> {
        // An address written out in the URL is not resolved, so the resolver cannot check it.
        let literal =
            reqwest::Url::parse(&envelope.webhook)
                .ok()
                .and_then(|url| match url.host() {
                    Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                    Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                    _ => None,
                });
        if let Some(ip) = literal.filter(|ip| !self.private_addresses && !is_public(*ip)) {
            return Err(PostError::Refused(format!(
                "{ip} is not a public address, and webhooks to private ones are off (webhook_private_addresses)"
            )));
        }
        let mut request = self
            .client
            .post(&envelope.webhook)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, &envelope.id)
            .header(EVENT_TYPE_HEADER, envelope.event_type.name())
            .body(body.to_vec());
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, sign(secret.expose().as_bytes(), body));
        }
        let response = request
            .send()
            .await
            .map_err(|error| PostError::Transient(describe(&error)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = format!("the receiver answered {status}");
        let passing = status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        Err(if passing {
            PostError::Transient(reason)
        } else {
            PostError::Refused(reason)
        })
    }
}

/// The POST body: the event plus abaco's two delivery fields.
fn payload(envelope: &Envelope) -> Vec<u8> {
    let mut body = envelope.body.clone();
    body.insert("_abaco_Content_Type".into(), json!("application/json"));
    body.insert("_abaco_username".into(), json!(crate::link::EXECUTOR));
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// A transport error with its causes, without the URL's query (it may hold a token).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
