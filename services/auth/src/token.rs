//! JWTs: verifying a caller's token into the user, tenant and roles it names, and minting the
//! short-lived tokens runs get as `_abaco_access_token`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use abaco::{
    identity::{Role, is_valid_tenant, is_valid_user},
    secret::Secret,
};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header,
    errors::ErrorKind,
};
use serde_json::{Map, Value};

use crate::{
    jwt_keys::{KeyRing, hmac_key},
    policy::claimed_role,
};

/// The issuer of the tokens the platform mints for runs.
pub const ACCESS_TOKEN_ISSUER: &str = "abaco";

/// Why a token was not accepted. The texts say what is wrong and never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, or not JSON inside.
    #[error("the token is malformed")]
    Malformed,
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before its `nbf`.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// No configured key verifies its signature.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// Signed with an algorithm no key of its tenant accepts.
    #[error("the token's algorithm is not accepted")]
    BadAlgorithm,
    /// No key that may speak for the token's tenant verifies its kind of signature.
    #[error("no key of tenant {tenant} verifies {algorithm:?} tokens")]
    NoKey {
        /// The token's tenant.
        tenant: String,
        /// Its algorithm.
        algorithm: Algorithm,
    },
    /// The `iss` or `aud` is not the configured one.
    #[error("the token's issuer or audience is not accepted")]
    WrongParty,
    /// A claim the platform needs is absent or unusable.
    #[error("the token {0}")]
    Claims(String),
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The tenant, in lower case.
    pub tenant: String,
    /// The user name.
    pub user: String,
    /// Roles from the roles claim, if one is configured.
    pub roles: Vec<Role>,
    /// The platform minted it for a run (`_abaco_access_token`).
    pub for_a_run: bool,
}

/// How tokens are checked.
#[derive(Debug, Clone)]
pub(crate) struct Verifier {
    keys: KeyRing,
    /// Verifies the platform's own access tokens; `None` when no access secret is set.
    access_key: Option<DecodingKey>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    roles_claim: Option<String>,
}

/// The settings a [`Verifier`] is made of.
#[derive(Debug, Clone)]
pub(crate) struct VerifierSettings {
    pub(crate) keys: KeyRing,
    pub(crate) access_secret: Option<Secret>,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) leeway_secs: u64,
    pub(crate) roles_claim: Option<String>,
}

impl Verifier {
    pub(crate) fn new(settings: VerifierSettings) -> Result<Self, crate::jwt_keys::KeyError> {
        let access_key = settings
            .access_secret
            .as_ref()
            .map(|secret| hmac_key(secret.expose(), "access_token_secret").map(|key| key.key))
            .transpose()?;
        Ok(Self {
            keys: settings.keys,
            access_key,
            issuer: settings.issuer,
            audience: settings.audience,
            leeway: settings.leeway_secs,
            roles_claim: settings.roles_claim,
        })
    }

    /// Whether any key could verify anything.
    pub(crate) fn has_keys(&self) -> bool {
        !self.keys.is_empty() || self.access_key.is_some()
    }

    /// Verifies `token`; `header_tenant` is the tenant an `X-Jwt-Assertion-<TENANT>` header
    /// named, and `default_tenant` the tenant of tokens that name none.
    pub(crate) fn verify(
        &self,
        token: &str,
        header_tenant: Option<&str>,
        default_tenant: &str,
    ) -> Result<Verified, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        // The claims before verification only choose which keys to try; nothing else in them
        // is believed until a key has verified the signature.
        let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode(token)
            .map_err(|_| TokenError::Malformed)?
            .claims;
        let own = unverified.get("iss").and_then(Value::as_str) == Some(ACCESS_TOKEN_ISSUER);
        let claims = match (&self.access_key, own) {
            (Some(key), true) => self.decode_with(token, header.alg, [key], None, None)?,
            _ => {
                let tenant = tenant_of(&unverified, header_tenant, default_tenant)?;
                // A tenant the header alone names is vouched for by that tenant's own keys: a
                // platform-wide key signs tokens of every tenant, so a header must not move
                // one of them into another.
                let keys = self.keys.candidates(
                    tenant.name(),
                    tenant.may_use_platform_keys(),
                    header.alg,
                    header.kid.as_deref(),
                );
                if keys.is_empty() {
                    return Err(TokenError::NoKey {
                        tenant: tenant.into_name(),
                        algorithm: header.alg,
                    });
                }
                self.decode_with(
                    token,
                    header.alg,
                    keys,
                    self.issuer.as_deref(),
                    self.audience.as_deref(),
                )?
            }
        };
        let tenant = tenant_of(&claims, header_tenant, default_tenant)?.into_name();
        let user = user_of(&claims)?;
        let roles = self
            .roles_claim
            .as_deref()
            .and_then(|name| claims.get(name))
            .map(roles_of)
            .unwrap_or_default();
        Ok(Verified {
            tenant,
            user,
            roles,
            for_a_run: own && self.access_key.is_some(),
        })
    }

    /// The claims of `token` once one of `keys` verifies it.
    fn decode_with<'k>(
        &self,
        token: &str,
        algorithm: Algorithm,
        keys: impl IntoIterator<Item = &'k DecodingKey>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Map<String, Value>, TokenError> {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let mut outcome = Err(TokenError::BadSignature);
        for key in keys {
            match decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                // Another key may still verify it.
                Err(error) if matches!(error.kind(), ErrorKind::InvalidSignature) => {}
                Err(error) => outcome = Err(classify(error.kind())),
            }
        }
        outcome
    }
}

fn classify(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongParty,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenError::BadAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::Claims(format!("has no {claim} claim"))
        }
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        _ => TokenError::Malformed,
    }
}

/// Where a token's tenant came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TenantOf {
    /// A claim of the token (`tapis/tenant_id` or `tenant`).
    Claim(String),
    /// The `X-Jwt-Assertion-<TENANT>` header, the token naming none.
    Header(String),
    /// Neither: the default tenant.
    Default(String),
}

impl TenantOf {
    fn name(&self) -> &str {
        match self {
            Self::Claim(name) | Self::Header(name) | Self::Default(name) => name,
        }
    }

    fn into_name(self) -> String {
        match self {
            Self::Claim(name) | Self::Header(name) | Self::Default(name) => name,
        }
    }

    fn may_use_platform_keys(&self) -> bool {
        !matches!(self, Self::Header(_))
    }
}

/// The tenant a token belongs to: its `tapis/tenant_id` or `tenant` claim, else the tenant of
/// its `X-Jwt-Assertion-<TENANT>` header, else the default; lower case. A claim and a header
/// that disagree are refused.
fn tenant_of(
    claims: &Map<String, Value>,
    header_tenant: Option<&str>,
    default_tenant: &str,
) -> Result<TenantOf, TokenError> {
    let claimed = claims
        .get("tapis/tenant_id")
        .or_else(|| claims.get("tenant"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let header = header_tenant.map(str::to_ascii_lowercase);
    let tenant = match (claimed, header) {
        (Some(claimed), Some(header)) if claimed != header => {
            return Err(TokenError::Claims(format!(
                "names tenant {claimed} but came in the header of tenant {header}"
            )));
        }
        (Some(claimed), _) => TenantOf::Claim(claimed),
        (None, Some(header)) => TenantOf::Header(header),
        (None, None) => TenantOf::Default(default_tenant.to_ascii_lowercase()),
    };
    if !is_valid_tenant(tenant.name()) {
        return Err(TokenError::Claims("names no valid tenant".into()));
    }
    Ok(tenant)
}

/// The user a token names: `tapis/username`, else the WSO2 end user without its tenant
/// domain, else `sub`.
fn user_of(claims: &Map<String, Value>) -> Result<String, TokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let user = text("tapis/username")
        .map(str::to_owned)
        .or_else(|| {
            text("http://wso2.org/claims/enduser").map(|user| {
                user.rsplit_once('@')
                    .map_or(user, |(name, _)| name)
                    .to_owned()
            })
        })
        .or_else(|| text("sub").map(str::to_owned))
        .ok_or_else(|| TokenError::Claims("names no user".into()))?;
    if !is_valid_user(&user) {
        return Err(TokenError::Claims(
            "names a user that is not 1-64 of A-Za-z0-9_.@-".into(),
        ));
    }
    Ok(user)
}

/// Roles of a roles claim: a list of names, or one comma-separated string.
fn roles_of(value: &Value) -> Vec<Role> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(claimed_role)
            .collect(),
        Value::String(text) => text.split(',').filter_map(claimed_role).collect(),
        _ => Vec::new(),
    }
}

/// Mints the tokens runs of actors with `token: true` get, for their owner.
#[derive(Clone)]
pub struct AccessTokenMinter {
    key: EncodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenMinter")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AccessTokenMinter {
    /// A minter signing with `secret` (HS256), whose tokens live for `ttl`.
    pub fn new(secret: &Secret, ttl: Duration) -> Result<Self, crate::jwt_keys::KeyError> {
        // Same length rule as for verification, so a minted token is always accepted.
        hmac_key(secret.expose(), "access_token_secret")?;
        Ok(Self {
            key: EncodingKey::from_secret(secret.expose().as_bytes()),
            ttl,
        })
    }

    /// A token for `user` of `tenant`, made for a run of `actor_id`.
    pub fn mint(&self, tenant: &str, user: &str, actor_id: &str) -> Option<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = serde_json::json!({
            "iss": ACCESS_TOKEN_ISSUER,
            "sub": user,
            "tapis/username": user,
            "tapis/tenant_id": tenant,
            "abaco/actor_id": actor_id,
            "iat": now,
            "exp": now + self.ttl.as_secs(),
        });
        match jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::error!(%error, "could not mint an access token");
                None
            }
        }
    }
}
