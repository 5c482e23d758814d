//! Every metric the platform records, named and described in one place: operators read this
//! file (and the README's table) to write their dashboards. Labels are bounded: a route
//! pattern, a gRPC method the endpoint serves, a status, an actor id (actors are few and their
//! gauges expire) but never an execution or worker id.
//!
//! Recording goes through the `metrics` facade; with no exporter installed (libraries, unit
//! tests) it costs a branch. The binary installs the Prometheus exporter.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, histogram};

/// REST requests answered, by method, route pattern and status code.
pub const HTTP_REQUESTS: &str = "abaco_http_requests_total";
/// Seconds from routing a REST request to its answer, by method and route pattern.
pub const HTTP_DURATION: &str = "abaco_http_request_duration_seconds";
/// gRPC calls answered, by method and the status the answer's headers carry.
pub const GRPC_REQUESTS: &str = "abaco_grpc_requests_total";
/// Seconds from a gRPC call to its answer's headers, by method.
pub const GRPC_DURATION: &str = "abaco_grpc_request_duration_seconds";
/// Messages accepted into a mailbox (their execution recorded and queued).
pub const MESSAGES_ACCEPTED: &str = "abaco_messages_accepted_total";
/// Delivered messages put aside as dead letters instead of run.
pub const DEAD_LETTERS: &str = "abaco_dead_letters_total";
/// Messages waiting in an actor's mailbox, as the last scaling pass read it, by actor.
pub const MAILBOX_DEPTH: &str = "abaco_mailbox_depth";
/// Executions finished, by final status (COMPLETE or ERROR).
pub const EXECUTIONS_FINISHED: &str = "abaco_executions_finished_total";
/// Seconds a run's container ran (the execution's runtime).
pub const RUN_DURATION: &str = "abaco_run_duration_seconds";
/// Seconds from asking Docker for a run's container to the container running.
pub const CONTAINER_START: &str = "abaco_container_start_seconds";
/// Workers by status, as the last health pass found them.
pub const WORKERS: &str = "abaco_workers";
/// Most workers this spawner runs at once.
pub const SPAWNER_CAPACITY: &str = "abaco_spawner_capacity";
/// Workers this spawner runs now.
pub const SPAWNER_RUNNING: &str = "abaco_spawner_running_workers";
/// Failed calls to the store (Redis or the embedded file), by backend.
pub const STORE_ERRORS: &str = "abaco_store_errors_total";
/// Failed calls to the mailboxes (RabbitMQ or the embedded queue), by backend.
pub const BROKER_ERRORS: &str = "abaco_broker_errors_total";

/// Buckets of every duration histogram, in seconds: from a cached REST answer (1 ms) to a
/// long run (a few minutes); longer runs land in `+Inf`.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Gives every metric its help text and unit; call once after installing a recorder.
pub fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "REST requests answered, by method, route and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "time to answer a REST request, by method and route"
    );
    describe_counter!(
        GRPC_REQUESTS,
        "gRPC calls answered, by method and status code"
    );
    describe_histogram!(
        GRPC_DURATION,
        Unit::Seconds,
        "time to a gRPC call's answer headers, by method"
    );
    describe_counter!(MESSAGES_ACCEPTED, "messages accepted into mailboxes");
    describe_counter!(
        DEAD_LETTERS,
        "delivered messages put aside as dead letters instead of run"
    );
    describe_gauge!(MAILBOX_DEPTH, "messages waiting in each actor's mailbox");
    describe_counter!(EXECUTIONS_FINISHED, "executions finished, by final status");
    describe_histogram!(RUN_DURATION, Unit::Seconds, "how long runs' containers ran");
    describe_histogram!(
        CONTAINER_START,
        Unit::Seconds,
        "time from creating a run's container to its start"
    );
    describe_gauge!(WORKERS, "workers by status");
    describe_gauge!(SPAWNER_CAPACITY, "most workers this spawner runs at once");
    describe_gauge!(SPAWNER_RUNNING, "workers this spawner runs now");
    describe_counter!(STORE_ERRORS, "failed store calls, by backend");
    describe_counter!(BROKER_ERRORS, "failed mailbox calls, by backend");
}

/// Times each gRPC call of an endpoint that serves `services` (full names such as
/// `abaco.v1.Registration`); calls to anything else count as method `unknown`, so a caller
/// cannot grow the label set.
#[derive(Debug, Clone)]
pub struct GrpcMetricsLayer {
    services: Arc<[String]>,
}

impl GrpcMetricsLayer {
    /// A layer for an endpoint serving `services`.
    pub fn new(services: impl IntoIterator<Item = String>) -> Self {
        Self {
            services: services.into_iter().collect(),
        }
    }
}

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            services: self.services.clone(),
        }
    }
}

/// The service [`GrpcMetricsLayer`] makes.
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    services: Arc<[String]>,
}

/// A boxed future, as a layer over services of any future type needs.
type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower_service::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Boxed<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = known_method(request.uri().path(), &self.services);
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            // A failed call answers "trailers only": its status is in the headers. A call
            // that streams a body carries its status in trailers, after this point: OK here.
            let code = match &answer {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|code| code.to_str().ok())
                    .and_then(|code| code.parse::<i32>().ok())
                    .map_or("Ok", |code| tonic::Code::from(code).description_name()),
                Err(_) => "transport",
            };
            counter!(GRPC_REQUESTS, "method" => method.clone(), "code" => code).increment(1);
            histogram!(GRPC_DURATION, "method" => method).record(started.elapsed());
            answer
        })
    }
}

/// `path` (`/package.Service/Method`) when its service is one of `services`, else `unknown`.
fn known_method(path: &str, services: &[String]) -> String {
    let service = path
        .trim_start_matches('/')
        .split_once('/')
        .map(|(service, _)| service);
    match service {
        Some(service) if services.iter().any(|known| known == service) => path.to_string(),
        _ => "unknown".into(),
    }
}

/// Short names for tonic codes, as labels.
trait CodeName {
    fn description_name(self) -> &'static str;
}

impl CodeName for tonic::Code {
    fn description_name(self) -> &'static str {
        match self {
            tonic::Code::Ok => "Ok",
            tonic::Code::Cancelled => "Cancelled",
            tonic::Code::Unknown => "Unknown",
            tonic::Code::InvalidArgument => "InvalidArgument",
            tonic::Code::DeadlineExceeded => "DeadlineExceeded",
            tonic::Code::NotFound => "NotFound",
            tonic::Code::AlreadyExists => "AlreadyExists",
            tonic::Code::PermissionDenied => "PermissionDenied",
            tonic::Code::ResourceExhausted => "ResourceExhausted",
            tonic::Code::FailedPrecondition => "FailedPrecondition",
            tonic::Code::Aborted => "Aborted",
            tonic::Code::OutOfRange => "OutOfRange",
            tonic::Code::Unimplemented => "Unimplemented",
            tonic::Code::Internal => "Internal",
            tonic::Code::Unavailable => "Unavailable",
            tonic::Code::DataLoss => "DataLoss",
            tonic::Code::Unauthenticated => "Unauthenticated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::known_method;

    #[test]
    fn only_served_methods_become_labels() {
        let services = ["abaco.v1.Registration".to_string()];
        assert_eq!(
            known_method("/abaco.v1.Registration/CreateActor", &services),
            "/abaco.v1.Registration/CreateActor"
        );
        assert_eq!(known_method("/evil.Service/X", &services), "unknown");
        assert_eq!(known_method("/garbage", &services), "unknown");
    }
}
