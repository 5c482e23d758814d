//! The REST gateway: abaco's JSON API in front of the gRPC services.
//!
//! A thin translation layer: each route parses its input, makes one gRPC call to
//! Registration, Messages or Admin with the caller's user in the metadata, and renders the
//! answer in abaco's envelope. The services decide everything else.

use std::{future::Future, sync::Arc, time::Duration};

use abaco::{
    pb::{
        self, access_client::AccessClient, admin_client::AdminClient,
        configs_client::ConfigsClient, messages_client::MessagesClient, messages_server::Messages,
        registration_client::RegistrationClient,
    },
    settings::Settings,
};
use abaco_auth::Authenticator;
use axum::{
    Router,
    error_handling::HandleErrorLayer,
    extract::DefaultBodyLimit,
    middleware,
    response::{IntoResponse, Response},
};
use tonic::{
    body::Body,
    transport::{Channel, Endpoint},
};
use tower::{BoxError, ServiceBuilder, ServiceExt, util::BoxCloneSyncService};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

mod cors;
mod envelope;
mod error;
mod identity;
mod input;
mod openapi;
mod paths;
mod request_metrics;
mod routes;
mod views;

pub use error::GatewayError;
pub use identity::USER_HEADER;

use error::ApiError;

/// The gateway: clients of the three services and the settings. Cheap to clone, as the
/// router does for every request.
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    registration: RegistrationClient<Transport>,
    messages: MessagesClient<Transport>,
    local_messages: Option<LocalMessages>,
    admin: AdminClient<Transport>,
    access: AccessClient<Transport>,
    configs: ConfigsClient<Transport>,
    settings: Settings,
    auth: Authenticator,
}

/// The messages service itself, when it runs in the gateway's process.
#[derive(Clone)]
pub struct LocalMessages(Arc<dyn Messages>);

impl LocalMessages {
    /// `service`, called in this process.
    pub fn new(service: impl Messages) -> Self {
        Self(Arc::new(service))
    }
}

impl std::fmt::Debug for LocalMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalMessages")
    }
}

/// How the gateway reaches a gRPC service: a channel to its address, or, inside `abaco up`,
/// the service itself, called in the same process without a network hop.
pub type Transport = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, TransportError>;

/// A failure to reach a service. Its source is the transport's own error, so tonic still finds
/// a refused connection in the chain and answers `Unavailable`. (A concrete type rather than
/// a boxed error: tonic's clients need an error type that converts for every lifetime.)
#[derive(Debug)]
pub struct TransportError(BoxError);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// The services, as [`Gateway::new`] takes them.
#[derive(Debug, Clone)]
pub struct Services {
    /// `abaco.v1.Registration`.
    pub registration: Transport,
    /// `abaco.v1.Messages`.
    pub messages: Transport,
    /// `abaco.v1.Admin`.
    pub admin: Transport,
    /// `abaco.v1.Access`, served beside registration.
    pub access: Transport,
    /// `abaco.v1.Configs`, served beside registration.
    pub configs: Transport,
    /// The messages service of this process, if it runs here: sends call it directly, without
    /// a gRPC request to encode and decode again. Its other calls go through `messages`.
    pub local_messages: Option<LocalMessages>,
}

/// A gRPC server (or any HTTP service) as a [`Transport`].
pub fn transport<S>(service: S) -> Transport
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    BoxCloneSyncService::new(service.map_err(|e| TransportError(e.into())))
}

impl Services {
    /// Channels to the services at the addresses the settings name. They connect on first
    /// use, so it does not matter which of the gateway and the services starts first. Must be
    /// called inside a tokio runtime.
    pub fn connect(settings: &Settings) -> Result<Self, GatewayError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GatewayError::NoRuntime);
        }
        let url = |own: Option<&String>| settings.service_url(own);
        let connect = Duration::from_secs(settings.service_connect_timeout_secs.max(1));
        let channel = |service, url| channel(service, url, connect);
        let registration = channel("registration", url(settings.registration_url.as_ref()))?;
        Ok(Self {
            // The access and configs services live in the registration process.
            access: transport(registration.clone()),
            configs: transport(registration.clone()),
            registration: transport(registration),
            messages: transport(channel("messages", url(settings.messages_url.as_ref()))?),
            admin: transport(channel("admin", url(settings.admin_url.as_ref()))?),
            local_messages: None,
        })
    }
}

impl Gateway {
    /// A gateway in front of the services the settings name (see [`Services::connect`]),
    /// authenticating callers as the settings say.
    pub fn connect(settings: &Settings) -> Result<Self, GatewayError> {
        let auth = Authenticator::new(settings, &[settings.http_addr])?;
        Self::new(settings, Services::connect(settings)?, auth)
    }

    /// A gateway in front of `services` as given, whose callers `auth` decides. A service may
    /// be one of this process (see [`transport`]): `abaco up` hands it all of them, which saves
    /// every request a loopback gRPC round trip.
    pub fn new(
        settings: &Settings,
        services: Services,
        auth: Authenticator,
    ) -> Result<Self, GatewayError> {
        if settings.sync_wait_secs >= settings.request_timeout_secs {
            return Err(GatewayError::SyncWaitTooLong {
                sync_wait_secs: settings.sync_wait_secs,
                request_timeout_secs: settings.request_timeout_secs,
            });
        }
        cors::check(&settings.cors_origins)?;
        Ok(Self {
            shared: Arc::new(Shared {
                registration: RegistrationClient::new(services.registration),
                messages: MessagesClient::new(services.messages),
                local_messages: services.local_messages,
                admin: AdminClient::new(services.admin),
                access: AccessClient::new(services.access),
                configs: ConfigsClient::new(services.configs),
                settings: settings.clone(),
                auth,
            }),
        })
    }

    /// Who decides the callers.
    pub(crate) fn authenticator(&self) -> &Authenticator {
        &self.shared.auth
    }

    pub(crate) fn access(&self) -> AccessClient<Transport> {
        self.shared.access.clone()
    }

    pub(crate) fn configs(&self) -> ConfigsClient<Transport> {
        self.shared.configs.clone()
    }

    /// The settings the gateway was built with.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub(crate) fn registration(&self) -> RegistrationClient<Transport> {
        self.shared.registration.clone()
    }

    pub(crate) fn messages(&self) -> MessagesClient<Transport> {
        self.shared.messages.clone()
    }

    /// Sends a message as `caller`: to the messages service in this process if there is one,
    /// else through its client.
    pub(crate) async fn send_message(
        &self,
        caller: &identity::Caller,
        message: pb::SendMessageRequest,
    ) -> Result<pb::SendMessageResponse, ApiError> {
        let Some(local) = &self.shared.local_messages else {
            let request = caller.request(message)?;
            return Ok(self.messages().send_message(request).await?.into_inner());
        };
        // No request to encode and decode again, nor metadata to forward and check: the caller
        // was verified at this edge, and the service finds it where its own authenticating
        // layer would have put it. Runs in this request's span, under the router's timeout.
        // (REST ingest, BENCHMARKS.md "Session 15".)
        let mut request = tonic::Request::new(message);
        request.extensions_mut().insert(caller.identity.clone());
        Ok(local.0.send_message(request).await?.into_inner())
    }

    pub(crate) fn admin(&self) -> AdminClient<Transport> {
        self.shared.admin.clone()
    }

    /// Longest a request may take; also the deadline of the gRPC calls it makes.
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.shared.settings.request_timeout_secs)
    }

    /// The REST API, at `/actors...` and `/v3/actors...`, with its middleware.
    pub fn router(&self) -> Router {
        let limit = self.shared.settings.max_body_bytes;
        let version: Arc<str> = Arc::from(self.shared.settings.api_version.as_str());
        let middleware = ServiceBuilder::new()
            // Outermost, so every request gets a span, including those refused below; it joins
            // the caller's trace when the request carries a W3C `traceparent`.
            .layer(
                TraceLayer::new_for_http().make_span_with(abaco::trace_context::http_server_span),
            )
            // Answers browsers' preflights before anything asks who is calling, and marks
            // every answer with the origins allowed (abaco allowed any).
            .layer(cors::layer(&self.shared.settings.cors_origins))
            // Writes the envelope of every answer made below it, refusals of layers included.
            .layer(middleware::map_response_with_state(
                version,
                envelope::render,
            ))
            // A panic below becomes a 500 (which the envelope layer above still wraps).
            .layer(CatchPanicLayer::custom(panic_response))
            // Turns the timeout's error into a 504 answer; tower errors cannot reach axum.
            .layer(HandleErrorLayer::new(timeout_response))
            // Bounds the whole request, body reading included.
            .layer(tower::timeout::TimeoutLayer::new(self.request_timeout()))
            // Refuses a declared oversize body before any work is done.
            .layer(middleware::from_fn_with_state(
                limit,
                routes::refuse_declared_oversize,
            ))
            // Bounds bodies without a Content-Length while handlers read them.
            .layer(DefaultBodyLimit::max(limit));
        let api = routes::table(&self.shared.settings.api_version)
            .with_state(self.clone())
            .layer(middleware);
        // Paths are tidied before they are routed (a layer on the routes would run after).
        Router::new().fallback_service(ServiceBuilder::new().map_request(paths::tidy).service(api))
    }
}

fn channel(
    service: &'static str,
    url: String,
    connect_timeout: Duration,
) -> Result<Channel, GatewayError> {
    let invalid = |reason: String| GatewayError::InvalidUrl {
        service,
        url: url.clone(),
        reason,
    };
    if !url.starts_with("http://") {
        // Without a TLS feature only plain HTTP/2 works; say so now rather than per request.
        return Err(invalid("must start with http://".into()));
    }
    let endpoint = Endpoint::from_shared(url.clone()).map_err(|e| invalid(e.to_string()))?;
    Ok(endpoint.connect_timeout(connect_timeout).connect_lazy())
}

async fn timeout_response(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::new(
            http::StatusCode::GATEWAY_TIMEOUT,
            "the request took too long",
        )
        .into_response();
    }
    tracing::error!(%error, "middleware error");
    ApiError::internal().into_response()
}

fn panic_response(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Serves the gateway on `listener` until `shutdown` resolves, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers are small: send them without waiting for Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, gateway.router())
        .with_graceful_shutdown(shutdown)
        .await
}
