//! Authentication in front of gRPC services: [`Authenticated`] puts the verified [`Caller`]
//! on every call of a user-facing service (or answers UNAUTHENTICATED), and [`InternalOnly`]
//! lets only the platform's own components reach a control service (spawners, workers).
//! Both wrap one service, not a server, so a service called inside the process (the gateway
//! of `abaco up`) passes the same check as one called over the network.

use std::{
    convert::Infallible,
    task::{Context, Poll},
};

use abaco::{
    AbacoError,
    identity::{Caller, INTERNAL_TOKEN_METADATA},
    secret::Secret,
};
use futures::future::{Either, Ready, ready};
use subtle::ConstantTimeEq;
use tonic::{body::Body, metadata::MetadataValue, server::NamedService};
use tower_service::Service;

use crate::authenticator::{Authenticator, Edge};

/// A user-facing service behind authentication.
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    inner: S,
    auth: Authenticator,
}

impl<S> Authenticated<S> {
    /// `inner`, reached only by callers `auth` accepts.
    pub fn new(inner: S, auth: Authenticator) -> Self {
        Self { inner, auth }
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

type Answer<F> = Either<F, Ready<Result<http::Response<Body>, Infallible>>>;

impl<S, B> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.auth.authenticate(request.headers(), None, Edge::Grpc) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Either::Left(self.inner.call(request))
            }
            Err(refusal) => Either::Right(ready(Ok(status_response(refusal)))),
        }
    }
}

/// A control service only the platform's components may call: calls without the internal
/// token are refused with UNAUTHENTICATED and logged. With no internal token configured
/// (`header` mode on loopback), every call passes.
#[derive(Debug, Clone)]
pub struct InternalOnly<S> {
    inner: S,
    token: Option<Secret>,
}

impl<S> InternalOnly<S> {
    /// `inner`, reached only by holders of `token` (by anyone when there is none).
    pub fn new(inner: S, token: Option<Secret>) -> Self {
        Self { inner, token }
    }
}

impl<S: NamedService> NamedService for InternalOnly<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for InternalOnly<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>
        + NamedService,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let admitted = self
            .token
            .as_ref()
            .is_none_or(|token| carries(request.headers(), token));
        if admitted {
            return Either::Left(self.inner.call(request));
        }
        let peer = request
            .extensions()
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(tonic::transport::server::TcpConnectInfo::remote_addr);
        tracing::warn!(
            service = S::NAME,
            path = %request.uri().path(),
            peer = ?peer,
            "refused a control call without the internal token"
        );
        Either::Right(ready(Ok(status_response(AbacoError::Unauthenticated(
            format!("{} is for the platform's own components", S::NAME),
        )))))
    }
}

/// Whether `headers` carry `token`, compared in constant time.
pub(crate) fn carries(headers: &http::HeaderMap, token: &Secret) -> bool {
    headers
        .get(INTERNAL_TOKEN_METADATA)
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())))
}

fn status_response(error: AbacoError) -> http::Response<Body> {
    tonic::Status::from(error).into_http()
}

/// Adds the internal token to an outgoing control call, when there is one.
pub fn attach_internal<T>(request: &mut tonic::Request<T>, token: Option<&str>) {
    if let Some(token) = token
        && let Ok(value) = MetadataValue::try_from(token)
    {
        request
            .metadata_mut()
            .insert(INTERNAL_TOKEN_METADATA, value);
    }
}

/// Runs a service method's `work` for the caller the edge put on `request` (UNAUTHENTICATED
/// without one) and answers its outcome.
pub async fn serve<T, R>(
    request: tonic::Request<T>,
    work: impl AsyncFnOnce(Caller, T) -> abaco::Result<R>,
) -> Result<tonic::Response<R>, tonic::Status> {
    let caller = Caller::of(&request)?;
    abaco::error::respond(work(caller, request.into_inner()).await)
}
