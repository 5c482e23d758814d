//! Serving gRPC: the components' services plus the standard health service and server
//! reflection (v1 and v1alpha), so that `grpcurl` works against every endpoint.

use std::{convert::Infallible, future::Future};

use crate::pb;
use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::RoutesBuilder,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;

/// Why a gRPC endpoint stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The descriptor sets for reflection did not load.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The services one gRPC endpoint will serve.
#[derive(Debug, Default)]
pub struct GrpcEndpoint {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl GrpcEndpoint {
    /// Adds a service; health reports it as serving.
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower_service::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Serves until `shutdown` resolves, then lets calls in flight finish.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.names {
            health
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        health.set_service_status("", ServingStatus::Serving).await;
        // Reflection names only what this endpoint serves (the file declares every service,
        // control ones included, which users must not be pointed at).
        let reflection = || {
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health");
            for name in &self.names {
                builder = builder.with_service_name(*name);
            }
            builder
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;
        self.routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        let measured = self.names.iter().map(|name| (*name).to_string()).chain(
            [
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ]
            .map(String::from),
        );
        Server::builder()
            // Counts and times every call by method.
            .layer(crate::metrics::GrpcMetricsLayer::new(measured))
            // One span per call, named by its path, a child of the caller's span when the call
            // carries a W3C trace context.
            .layer(
                tower_http::trace::TraceLayer::new_for_grpc()
                    .make_span_with(crate::trace_context::grpc_server_span),
            )
            .add_routes(self.routes.routes())
            // Small gRPC frames must not wait for Nagle's algorithm.
            .serve_with_incoming_shutdown(
                TcpIncoming::from(listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await?;
        Ok(())
    }
}
