//! `abaco token`: a JWT for a user, signed with the platform's HS256 secret, for trying `jwt`
//! mode and for scripts and tests. Whoever holds the secret can make any token anyway; this only
//! saves them a JWT library.

use std::time::Duration;

use abaco::settings::Settings;
use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

/// What `abaco token` makes.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The user the token names (its `sub`).
    #[arg(long)]
    pub user: String,
    /// The tenant it names; the default tenant when absent.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Roles to put in the `roles_claim` (e.g. `abaco_admin`); only read when that setting
    /// names a claim.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// How long it is valid.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: u64,
}

/// The token `args` ask for, signed with `jwt_hs256_secret`, carrying the issuer and
/// audience the settings check.
pub fn mint(settings: &Settings, args: &TokenArgs) -> anyhow::Result<String> {
    let secret = settings.jwt_hs256_secret.as_ref().context(
        "abaco token signs with jwt_hs256_secret (ABACO_JWT_HS256_SECRET), which is not set",
    )?;
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({
        "sub": args.user,
        "iat": now,
        "exp": now + Duration::from_secs(args.ttl_secs).as_secs(),
    });
    if let Some(tenant) = &args.tenant {
        claims["tenant"] = json!(tenant);
    }
    if let Some(issuer) = &settings.jwt_issuer {
        claims["iss"] = json!(issuer);
    }
    if let Some(audience) = &settings.jwt_audience {
        claims["aud"] = json!(audience);
    }
    if let Some(claim) = &settings.roles_claim {
        claims[claim.as_str()] = json!(args.roles);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .context("signing the token")
}
