//! Carrying one trace across processes: the W3C trace context (`traceparent`, `tracestate`)
//! of a `tracing` span goes into outgoing gRPC metadata and into the `trace_context` map of a
//! [`pb::MailboxMessage`](crate::pb::MailboxMessage), and comes back out as the parent of the
//! span on the other side.
//!
//! The helpers use the global propagator, which the binary sets only when it exports traces.
//! Without it (no OTLP endpoint) they inject nothing, extract nothing, and parent nothing.
//!
//! Only ids and request paths go into span fields here: never message bodies, query strings
//! (they become run environment, and carry nonces), or credentials.

use std::collections::HashMap;

use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
    trace::TraceContextExt,
};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Writes the trace context of `span` into outgoing gRPC metadata.
pub fn inject_metadata(span: &Span, metadata: &mut MetadataMap) {
    // A disabled span (tracing filtered out) has no context to pass on; skipping it spares
    // every request the propagator's lock and an empty context.
    if span.is_disabled() {
        return;
    }
    let cx = span.context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut MetadataInjector(metadata));
    });
}

/// The trace context of `span` as a string map, for a message that crosses a mailbox.
pub fn to_map(span: &Span) -> HashMap<String, String> {
    let mut map = HashMap::new();
    if span.is_disabled() {
        return map;
    }
    let cx = span.context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&cx, &mut map));
    map
}

/// Makes the trace context carried by HTTP (or gRPC) headers the parent of `span`.
pub fn set_parent_from_headers(span: &Span, headers: &http::HeaderMap) {
    set_parent(span, &HeaderExtractor(headers));
}

/// Makes the trace context carried by a mailbox message's map the parent of `span`.
pub fn set_parent_from_map(span: &Span, map: &HashMap<String, String>) {
    if !map.is_empty() {
        set_parent(span, map);
    }
}

/// The span of one gRPC call a server receives, a child of the caller's span when the call
/// carries a trace context. For `TraceLayer::make_span_with`.
pub fn grpc_server_span<B>(request: &http::Request<B>) -> Span {
    let span = tracing::info_span!(
        "grpc request",
        otel.name = %request.uri().path(),
        otel.kind = "server",
    );
    set_parent_from_headers(&span, request.headers());
    span
}

/// The span of one REST request the gateway receives: method and path only (the query string
/// carries run environment and nonces). For `TraceLayer::make_span_with`.
pub fn http_server_span<B>(request: &http::Request<B>) -> Span {
    let span = tracing::info_span!(
        "http request",
        otel.kind = "server",
        method = %request.method(),
        path = %request.uri().path(),
    );
    set_parent_from_headers(&span, request.headers());
    span
}

fn set_parent(span: &Span, carrier: &dyn Extractor) {
    if span.is_disabled() {
        return;
    }
    let cx: Context = global::get_text_map_propagator(|propagator| propagator.extract(carrier));
    if cx.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed or the span is disabled, and
        // then there is no trace to join.
        let _ = span.set_parent(cx);
    }
}

/// gRPC metadata as a carrier to write to; entries that are not valid metadata are skipped.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// HTTP headers (gRPC metadata on the wire) as a carrier to read from.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;
    use opentelemetry::trace::{TraceId, TracerProvider as _};
    use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
    use prost::Message;
    use tracing_subscriber::layer::SubscriberExt;

    /// Runs `f` with an in-memory OpenTelemetry pipeline (no exporter, every span sampled)
    /// and the W3C propagator the binary installs.
    fn traced(f: impl FnOnce()) {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f);
    }

    fn trace_id(span: &Span) -> TraceId {
        span.context().span().span_context().trace_id()
    }

    #[test]
    fn grpc_metadata_carries_the_trace_to_the_server_span() {
        traced(|| {
            let client = tracing::info_span!("client");
            let mut metadata = MetadataMap::new();
            inject_metadata(&client, &mut metadata);
            assert!(metadata.get("traceparent").is_some());

            // What the server's `TraceLayer` sees: the metadata as HTTP/2 headers.
            let mut request = http::Request::new(());
            *request.uri_mut() = http::Uri::from_static("/abaco.Messages/SendMessage");
            *request.headers_mut() = metadata.into_headers();
            let server = grpc_server_span(&request);

            assert_ne!(trace_id(&client), TraceId::INVALID);
            assert_eq!(trace_id(&server), trace_id(&client));
            assert_ne!(
                server.context().span().span_context().span_id(),
                client.context().span().span_context().span_id()
            );
        });
    }

    #[test]
    fn mailbox_message_carries_the_trace_to_the_execution_span() {
        traced(|| {
            let accept = tracing::info_span!("send_message");
            let message = pb::MailboxMessage {
                execution_id: "0exec".into(),
                trace_context: to_map(&accept),
                ..Default::default()
            };
            let delivered = pb::MailboxMessage::decode(message.encode_to_vec().as_slice())
                .expect("a message we just encoded decodes");
            assert!(delivered.trace_context.contains_key("traceparent"));

            let execution = tracing::info_span!("execution");
            set_parent_from_map(&execution, &delivered.trace_context);
            assert_ne!(trace_id(&accept), TraceId::INVALID);
            assert_eq!(trace_id(&execution), trace_id(&accept));
        });
    }

    #[test]
    fn a_message_without_context_starts_its_own_trace() {
        traced(|| {
            let other = tracing::info_span!("other");
            let execution = tracing::info_span!("execution");
            set_parent_from_map(&execution, &HashMap::new());
            assert_ne!(trace_id(&execution), TraceId::INVALID);
            assert_ne!(trace_id(&execution), trace_id(&other));
        });
    }

    #[test]
    fn garbage_trace_context_is_ignored() {
        traced(|| {
            let map = HashMap::from([("traceparent".to_string(), "not a trace".to_string())]);
            let execution = tracing::info_span!("execution");
            set_parent_from_map(&execution, &map);
            assert_ne!(trace_id(&execution), TraceId::INVALID);
        });
    }
}
