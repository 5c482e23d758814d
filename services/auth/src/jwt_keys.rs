//! The keys tokens are verified with: HS256 secrets, PEM public keys (RSA or EC) and JWKS
//! files, platform-wide and per tenant, loaded once at start.

use std::{collections::HashMap, path::Path};

use abaco::settings::Settings;
use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{JwkSet, PublicKeyUse},
};

/// Why the configured keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or parsed.
    #[error("{path}: {reason}")]
    File {
        /// The file as configured.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A secret is too short to be a key.
    #[error("{setting} must be at least {min} bytes long")]
    ShortSecret {
        /// The setting that holds it.
        setting: String,
        /// The shortest accepted length.
        min: usize,
    },
}

/// Shortest HS256 secret accepted: 32 bytes, the size of the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// One verification key, and the key id and algorithm a JWKS gave it.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) kid: Option<String>,
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A decoding key may be an HMAC secret: never print it.
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Every key that may verify tokens.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyRing {
    global: Vec<Key>,
    by_tenant: HashMap<String, Vec<Key>>,
}

impl KeyRing {
    /// The keys the settings name. A token of a tenant is verified by that tenant's keys and
    /// by the platform-wide ones.
    pub(crate) fn load(settings: &Settings) -> Result<Self, KeyError> {
        let mut ring = Self::default();
        if let Some(secret) = &settings.jwt_hs256_secret {
            ring.global
                .push(hmac_key(secret.expose(), "jwt_hs256_secret")?);
        }
        for path in &settings.jwt_public_keys {
            ring.global.push(pem_key(path)?);
        }
        if let Some(path) = &settings.jwks_file {
            ring.global.extend(jwks_keys(path)?);
        }
        for (tenant, tenant_settings) in &settings.tenants {
            let keys = ring
                .by_tenant
                .entry(tenant.to_ascii_lowercase())
                .or_default();
            if let Some(secret) = &tenant_settings.jwt_hs256_secret {
                keys.push(hmac_key(
                    secret.expose(),
                    &format!("tenants.{tenant}.jwt_hs256_secret"),
                )?);
            }
            for path in &tenant_settings.jwt_public_keys {
                keys.push(pem_key(path)?);
            }
            if let Some(path) = &tenant_settings.jwks_file {
                keys.extend(jwks_keys(path)?);
            }
        }
        Ok(ring)
    }

    /// Whether any key is configured at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.global.is_empty() && self.by_tenant.values().all(Vec::is_empty)
    }

    /// The keys that may verify a token of `tenant` signed with `algorithm`: the tenant's own
    /// and, when `platform` allows, the platform-wide ones; of the right family (and of that
    /// algorithm, for a JWKS key that names one), and, when the token names a key id, the key
    /// of that id first.
    pub(crate) fn candidates(
        &self,
        tenant: &str,
        platform: bool,
        algorithm: Algorithm,
        kid: Option<&str>,
    ) -> Vec<&DecodingKey> {
        let family = algorithm.family();
        let platform_keys = if platform { &self.global[..] } else { &[] };
        let mut keys: Vec<&Key> = self
            .by_tenant
            .get(tenant)
            .into_iter()
            .flatten()
            .chain(platform_keys.iter())
            .filter(|key| key.key.family() == family)
            .filter(|key| key.algorithm.is_none_or(|named| named == algorithm))
            .collect();
        if let Some(kid) = kid {
            // A named key that exists is the only one worth trying.
            if keys.iter().any(|key| key.kid.as_deref() == Some(kid)) {
                keys.retain(|key| key.kid.as_deref() == Some(kid));
            }
        }
        keys.into_iter().map(|key| &key.key).collect()
    }
}

/// An HMAC key from a secret, refused when too short to resist guessing.
pub(crate) fn hmac_key(secret: &str, setting: &str) -> Result<Key, KeyError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(KeyError::ShortSecret {
            setting: setting.into(),
            min: MIN_SECRET_BYTES,
        });
    }
    Ok(Key {
        kid: None,
        algorithm: None,
        key: DecodingKey::from_secret(secret.as_bytes()),
    })
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> KeyError {
    KeyError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A PEM public key: RSA (RS256, PS256, ...) or EC (ES256, ES384).
fn pem_key(path: &Path) -> Result<Key, KeyError> {
    let pem = std::fs::read(path).map_err(|e| file_error(path, e))?;
    let key = DecodingKey::from_rsa_pem(&pem)
        .or_else(|_| DecodingKey::from_ec_pem(&pem))
        .map_err(|_| file_error(path, "not a PEM RSA or EC public key"))?;
    Ok(Key {
        kid: None,
        algorithm: None,
        key,
    })
}

/// The usable keys of a JWKS file (RSA and EC keys; others are skipped with a warning).
fn jwks_keys(path: &Path) -> Result<Vec<Key>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| file_error(path, format!("not a JWKS: {e}")))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        // A key published for encryption never verifies a signature.
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            continue;
        }
        let algorithm = match jwk.common.key_algorithm {
            None => None,
            Some(named) => match Algorithm::from_str(&named.to_string()) {
                Ok(algorithm) => Some(algorithm),
                // An algorithm for something else than signing (e.g. RSA-OAEP).
                Err(_) => continue,
            },
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => keys.push(Key {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            }),
            Err(error) => tracing::warn!(
                file = %path.display(),
                kid = ?jwk.common.key_id,
                %error,
                "JWKS key skipped"
            ),
        }
    }
    if keys.is_empty() {
        return Err(file_error(path, "no usable key"));
    }
    Ok(keys)
}
