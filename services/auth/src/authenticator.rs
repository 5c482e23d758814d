//! From a request's headers to a [`Caller`]: the one place that decides who is calling, for
//! REST (the gateway) and gRPC (the wrapper around each service) alike. A request it cannot
//! place is refused here with 401; the services decide 403 and 404.

use std::{net::SocketAddr, sync::Arc};

use abaco::{
    AbacoError,
    identity::{
        Caller, INTERNAL_TOKEN_METADATA, NONCE_METADATA, ROLE_METADATA, Role, TENANT_METADATA,
        USER_METADATA, is_valid_tenant, is_valid_user,
    },
    secret::Secret,
    settings::{AuthMode, Settings},
};
use http::{HeaderMap, header};

use crate::{
    jwt_keys::{KeyError, KeyRing},
    policy::RolePolicy,
    throttle::Throttle,
    token::{TokenError, Verifier, VerifierSettings},
};

/// The header that names the tenant in `header` mode.
pub const TENANT_HEADER: &str = "x-abaco-tenant";
/// Tapis v3's token header.
pub const TAPIS_TOKEN_HEADER: &str = "x-tapis-token";
/// abaco 2.x's token headers: this prefix, then the tenant.
pub const JWT_ASSERTION_PREFIX: &str = "x-jwt-assertion-";

/// Where a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The REST gateway: a caller's own request.
    Rest,
    /// A gRPC service: a caller's own call, or a component forwarding one it authenticated.
    Grpc,
}

/// Why the authenticator could not be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A key could not be loaded.
    #[error("auth keys: {0}")]
    Keys(#[from] KeyError),
    /// `jwt` mode without a single key.
    #[error(
        "auth = jwt needs a key to verify tokens with: set jwt_hs256_secret (ABACO_JWT_HS256_SECRET), jwt_public_keys or jwks_file"
    )]
    NoKeys,
    /// `header` mode on an address others can reach.
    #[error(
        "auth = header trusts whatever user a request names, so it is for development on one machine: {0} is not a loopback address (bind to 127.0.0.1, or set auth = jwt)"
    )]
    HeaderModeOffLoopback(SocketAddr),
    /// A limit of zero would lock limited users out entirely.
    #[error("limited_requests_per_minute must be at least 1")]
    NoLimitedRate,
    /// A setting names a tenant id that could never match a caller's.
    #[error("{0:?} is not a valid tenant id (1-64 of a-z0-9.-)")]
    BadTenant(String),
    /// The default user would be refused by every service.
    #[error("default_user {0:?} is not a valid user name (1-64 of A-Za-z0-9_.@-)")]
    BadDefaultUser(String),
}

/// Decides who is calling.
#[derive(Debug, Clone)]
pub struct Authenticator {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    mode: AuthMode,
    default_user: String,
    policy: RolePolicy,
    verifier: Verifier,
    internal_token: Option<Secret>,
    throttle: Throttle,
}

impl Authenticator {
    /// An authenticator for these settings, whose listeners are `listeners`. `header` mode
    /// is refused unless every listener is on loopback.
    pub fn new(settings: &Settings, listeners: &[SocketAddr]) -> Result<Self, SetupError> {
        if settings.auth == AuthMode::Header
            && let Some(addr) = listeners.iter().find(|addr| !addr.ip().is_loopback())
        {
            return Err(SetupError::HeaderModeOffLoopback(*addr));
        }
        Self::for_settings(settings)
    }

    /// An authenticator for these settings, for a process with no user-facing listener of its
    /// own (a worker minting tokens, a test).
    pub fn for_settings(settings: &Settings) -> Result<Self, SetupError> {
        for tenant in std::iter::once(&settings.default_tenant).chain(settings.tenants.keys()) {
            if !is_valid_tenant(&tenant.to_ascii_lowercase()) {
                return Err(SetupError::BadTenant(tenant.clone()));
            }
        }
        if !is_valid_user(&settings.default_user) {
            return Err(SetupError::BadDefaultUser(settings.default_user.clone()));
        }
        let verifier = Verifier::new(VerifierSettings {
            keys: KeyRing::load(settings)?,
            access_secret: access_secret(settings).cloned(),
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            leeway_secs: settings.jwt_leeway_secs,
            roles_claim: settings.roles_claim.clone(),
        })?;
        if settings.auth == AuthMode::Jwt && !verifier.has_keys() {
            return Err(SetupError::NoKeys);
        }
        let throttle = Throttle::from_settings(settings).ok_or(SetupError::NoLimitedRate)?;
        Ok(Self {
            shared: Arc::new(Shared {
                mode: settings.auth,
                default_user: settings.default_user.clone(),
                policy: RolePolicy::from_settings(settings),
                verifier,
                internal_token: settings.internal_token.clone(),
                throttle,
            }),
        })
    }

    /// The roles the settings give.
    pub fn policy(&self) -> &RolePolicy {
        &self.shared.policy
    }

    /// The platform's internal token, if one is set.
    pub fn internal_token(&self) -> Option<&str> {
        self.shared.internal_token.as_ref().map(Secret::expose)
    }

    /// Whether `headers` carry the platform's internal token. Without one configured, nothing
    /// does.
    pub fn is_internal(&self, headers: &HeaderMap) -> bool {
        self.shared
            .internal_token
            .as_ref()
            .is_some_and(|token| crate::grpc::carries(headers, token))
    }

    /// The caller of a request with these headers; `query_nonce` is an `x-nonce` query
    /// parameter (REST).
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        query_nonce: Option<&str>,
        edge: Edge,
    ) -> Result<Caller, AbacoError> {
        if edge == Edge::Grpc && headers.contains_key(INTERNAL_TOKEN_METADATA) {
            if !self.is_internal(headers) {
                tracing::warn!("refused a call with a wrong internal token");
                return Err(AbacoError::Unauthenticated(
                    "the internal token is not this platform's".into(),
                ));
            }
            return self.asserted(headers);
        }
        let nonce = query_nonce.or_else(|| text(headers, NONCE_METADATA));
        let caller = match self.shared.mode {
            AuthMode::Jwt => self.by_token(headers, nonce)?,
            AuthMode::Header => self.by_header(headers, nonce)?,
        };
        self.throttle(&caller)?;
        Ok(caller)
    }

    /// A caller a component that holds the internal token vouches for.
    fn asserted(&self, headers: &HeaderMap) -> Result<Caller, AbacoError> {
        let bad = |what: &str| AbacoError::Unauthenticated(format!("asserted caller: {what}"));
        let tenant = text(headers, TENANT_METADATA)
            .filter(|tenant| is_valid_tenant(tenant))
            .ok_or_else(|| bad("no valid tenant"))?;
        let role = text(headers, ROLE_METADATA)
            .and_then(Role::parse)
            .ok_or_else(|| bad("no valid role"))?;
        let nonce = text(headers, NONCE_METADATA).map(str::to_owned);
        let user = match text(headers, USER_METADATA) {
            Some(user) if is_valid_user(user) => user.to_owned(),
            Some(_) => return Err(bad("no valid user")),
            None if nonce.is_some() => String::new(),
            None => return Err(bad("no user")),
        };
        Ok(Caller {
            tenant: tenant.to_owned(),
            user,
            role,
            nonce,
        })
    }

    fn by_token(&self, headers: &HeaderMap, nonce: Option<&str>) -> Result<Caller, AbacoError> {
        let default_tenant = self.shared.policy.default_tenant();
        match bearer(headers)? {
            Some((token, header_tenant)) => {
                let verified = self
                    .shared
                    .verifier
                    .verify(token, header_tenant.as_deref(), default_tenant)
                    .map_err(unauthenticated)?;
                let mut role =
                    self.shared
                        .policy
                        .role(&verified.tenant, &verified.user, &verified.roles);
                if verified.for_a_run {
                    // A run's token lets code act as its actor's owner, never as an
                    // administrator or privileged user: whoever may change that code could
                    // otherwise borrow those powers.
                    role = role.min(Role::Regular);
                }
                Ok(Caller::user(verified.tenant, verified.user, role))
            }
            None => match nonce {
                Some(nonce) => nonce_caller(nonce),
                None => Err(AbacoError::Unauthenticated(
                    "no credentials: send a JWT (Authorization: Bearer <token>, X-Tapis-Token or X-Jwt-Assertion-<TENANT>) or an x-nonce".into(),
                )),
            },
        }
    }

    fn by_header(&self, headers: &HeaderMap, nonce: Option<&str>) -> Result<Caller, AbacoError> {
        let tenant = match text_or_invalid(headers, TENANT_HEADER)? {
            Some(tenant) => {
                let tenant = tenant.to_ascii_lowercase();
                if !is_valid_tenant(&tenant) {
                    return Err(AbacoError::invalid(
                        "X-Abaco-Tenant must be 1-64 of a-z0-9.-",
                    ));
                }
                tenant
            }
            None => self.shared.policy.default_tenant().to_owned(),
        };
        let user = match text_or_invalid(headers, USER_METADATA)? {
            Some(user) if is_valid_user(user) => user.to_owned(),
            Some(_) => {
                return Err(AbacoError::invalid(
                    "X-Abaco-User must be 1-64 characters of A-Za-z0-9_.@-",
                ));
            }
            None => match nonce {
                Some(nonce) => return nonce_caller(nonce),
                None => self.shared.default_user.clone(),
            },
        };
        let role = self.shared.policy.role(&tenant, &user, &[]);
        Ok(Caller::user(tenant, user, role))
    }

    /// Refuses a limited caller over its rate (a nonce's bearer is counted when its owner is
    /// known, where the nonce is redeemed).
    fn throttle(&self, caller: &Caller) -> Result<(), AbacoError> {
        if caller.role != Role::Limited || caller.via_nonce() {
            return Ok(());
        }
        self.shared.throttle.check(&caller.tenant, &caller.user)
    }
}

/// A fresh random internal token (43 base62 characters, about 256 bits), for a process whose
/// components need one among themselves and were given none (`abaco up`).
pub fn random_internal_token() -> Secret {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    Secret::new(
        (0..43)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect::<String>(),
    )
}

/// The secret access tokens are signed with: its own, else the platform-wide HS256 secret.
pub fn access_secret(settings: &Settings) -> Option<&Secret> {
    settings
        .access_token_secret
        .as_ref()
        .or(settings.jwt_hs256_secret.as_ref())
}

fn unauthenticated(error: TokenError) -> AbacoError {
    AbacoError::Unauthenticated(error.to_string())
}

/// A header's value as text, if it is present and visible ASCII.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// A header's value as text; a present value that is not text is an error.
fn text_or_invalid<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AbacoError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| AbacoError::invalid(format!("header {name} is not text"))),
    }
}

/// The token a request carries and the tenant its header names, if any.
fn bearer(headers: &HeaderMap) -> Result<Option<(&str, Option<String>)>, AbacoError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| {
            AbacoError::Unauthenticated("the Authorization header is not text".into())
        })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                AbacoError::Unauthenticated(
                    "the Authorization header must be \"Bearer <token>\"".into(),
                )
            })?;
        return Ok(Some((token, None)));
    }
    if let Some(token) = text(headers, TAPIS_TOKEN_HEADER) {
        return Ok(Some((token.trim(), None)));
    }
    for (name, value) in headers {
        if let Some(tenant) = name.as_str().strip_prefix(JWT_ASSERTION_PREFIX) {
            let token = value.to_str().map_err(|_| {
                AbacoError::Unauthenticated(format!("the {name} header is not text"))
            })?;
            return Ok(Some((token.trim(), Some(tenant.to_owned()))));
        }
    }
    Ok(None)
}

/// A caller who presents only a nonce; its tenant is the prefix of its id.
fn nonce_caller(nonce: &str) -> Result<Caller, AbacoError> {
    let tenant = crate::nonces::tenant_of(nonce)
        .ok_or_else(|| AbacoError::Unauthenticated("x-nonce is not a valid nonce".into()))?;
    Ok(Caller::with_nonce(tenant, nonce))
}
