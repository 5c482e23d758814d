//! Sealing secret values: AES-256-GCM under a key derived (SHA-256) from the `configs_key`
//! setting, with a fresh random nonce per value, bound to the config it belongs to (a sealed
//! value copied into another config's record does not open).

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

/// Marks the format of a sealed value, so that another can follow.
const PREFIX: &str = "v1:";
/// Bytes of an AES-GCM nonce.
const NONCE_LEN: usize = 12;

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not something this key sealed, or sealed under another key, or altered.
    #[error("the sealed value does not open with this key")]
    Unopenable,
}

/// The key secret values are sealed with.
#[derive(Clone)]
pub struct ConfigKey(Aes256Gcm);

impl std::fmt::Debug for ConfigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigKey(..)")
    }
}

impl ConfigKey {
    /// The key derived from the setting's text (any text; a long random one is best).
    pub fn from_secret(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        Self(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&digest)))
    }

    /// `plain` sealed for the config stored under `record_key`.
    pub fn seal(&self, plain: &str, record_key: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: record_key.as_bytes(),
        };
        // Encryption fails only for messages beyond 64 GiB.
        let sealed = self.0.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// The plain text of a value sealed for the config under `record_key`.
    pub fn open(&self, sealed: &str, record_key: &str) -> Result<String, SealError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|text| STANDARD.decode(text).ok())
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or(SealError::Unopenable)?;
        let (nonce, message) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: message,
            aad: record_key.as_bytes(),
        };
        let plain = self
            .0
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Unopenable)?;
        String::from_utf8(plain).map_err(|_| SealError::Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_config() {
        let key = ConfigKey::from_secret("correct horse battery staple");
        let sealed = key.seal("s3cret", "default/db");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(
            sealed,
            key.seal("s3cret", "default/db"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed, "default/db").unwrap(), "s3cret");
        assert_eq!(
            key.open(&sealed, "default/other"),
            Err(SealError::Unopenable)
        );
        let other = ConfigKey::from_secret("another key");
        assert_eq!(
            other.open(&sealed, "default/db"),
            Err(SealError::Unopenable)
        );
        assert_eq!(
            key.open("v1:AAAA", "default/db"),
            Err(SealError::Unopenable)
        );
        assert!(!format!("{key:?}").contains("horse"));
    }
}
