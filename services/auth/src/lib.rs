//! Who is calling and what they may do, shared by the gateway and every service.
//!
//! - [`Authenticator`] turns a request's headers into a [`abaco::identity::Caller`]: a
//!   verified JWT (`jwt` mode), the `X-Abaco-User` header (`header` mode, loopback only), a
//!   nonce, or a caller another component vouches for with the internal token. It is the one
//!   place 401 is decided.
//! - [`grpc::Authenticated`] and [`grpc::InternalOnly`] put it in front of gRPC services.
//! - [`Access`] decides, per actor, 404 (another tenant's) and 403 (not allowed), resolves
//!   aliases and redeems nonces.
//! - [`AccessTokenMinter`] makes the `_abaco_access_token` of runs.

mod access;
pub mod aliases;
mod authenticator;
pub mod grpc;
mod jwt_keys;
pub mod levels;
pub mod nonces;
mod policy;
mod target;
mod throttle;
mod token;

pub use access::{Access, Granted, level_in};
pub use authenticator::{
    Authenticator, Edge, JWT_ASSERTION_PREFIX, SetupError, TAPIS_TOKEN_HEADER, TENANT_HEADER,
    access_secret, random_internal_token,
};
pub use jwt_keys::{KeyError, MIN_SECRET_BYTES};
pub use policy::{RolePolicy, claimed_role};
pub use target::Target;
pub use throttle::Throttle;
pub use token::{ACCESS_TOKEN_ISSUER, AccessTokenMinter, TokenError};
