//! Nonces: capability tokens that stand for their owner on one actor or alias. An id is
//! `{tenant}_{22 random base62 characters}` (about 131 bits, drawn from the thread's
//! cryptographic generator): abaco's shape, so the tenant of a bare nonce is known, and long
//! enough that guessing one is hopeless.

use abaco::{
    AbacoError, Result,
    identity::is_valid_tenant,
    pb::{self, PermissionLevel},
    records::Records,
    store::Table,
    time,
};
use rand::Rng;

use crate::{levels, target::Target};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Random characters after the tenant.
const RANDOM_LEN: usize = 22;

/// A fresh nonce id for `tenant`.
pub fn new_id(tenant: &str) -> String {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{tenant}_{random}")
}

/// The tenant a nonce id belongs to, if it has a nonce's shape.
pub fn tenant_of(nonce_id: &str) -> Option<&str> {
    let (tenant, random) = nonce_id.rsplit_once('_')?;
    let shaped = random.len() == RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric());
    (shaped && is_valid_tenant(tenant)).then_some(tenant)
}

/// Key of a nonce in the nonces table.
pub fn key(target: &Target, nonce_id: &str) -> String {
    format!("{}{nonce_id}", target.nonce_prefix())
}

/// Uses the nonce `nonce_id` of `target` once for something that needs `need`: refused
/// (and not used) when it does not exist, its level is too low or it has no uses left. The
/// count is a compare-and-set on the stored nonce, so concurrent uses never exceed its
/// `maxUses` on either backend.
pub async fn redeem(
    records: &Records,
    target: &Target,
    nonce_id: &str,
    need: PermissionLevel,
) -> Result<pb::Nonce> {
    let key = key(target, nonce_id);
    let not_valid = || {
        AbacoError::Unauthenticated(format!(
            "x-nonce is not a valid nonce of {}",
            target.describe()
        ))
    };
    let found: Option<pb::Nonce> = records.get(Table::Nonces, &key).await?;
    let level = levels::of(found.ok_or_else(not_valid)?.level);
    if level < need {
        return Err(AbacoError::Forbidden(format!(
            "the nonce grants {} and this needs {}",
            levels::name(level),
            levels::name(need)
        )));
    }
    let used = records
        .update(Table::Nonces, &key, |nonce: &mut pb::Nonce| {
            match nonce.remaining_uses {
                -1 => {}
                remaining if remaining > 0 => nonce.remaining_uses -= 1,
                _ => {
                    return Err(AbacoError::Forbidden("the nonce has no uses left".into()));
                }
            }
            nonce.current_uses += 1;
            nonce.last_use_time = time::now();
            Ok(true)
        })
        .await;
    match used {
        // Deleted between the read and the use.
        Err(AbacoError::NotFound(_)) => Err(not_valid()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_tenant() {
        let id = new_id("tacc");
        assert_eq!(tenant_of(&id), Some("tacc"));
        assert_ne!(new_id("tacc"), id);
        assert_eq!(tenant_of("tacc_short"), None);
        assert_eq!(tenant_of("no-separator"), None);
        assert_eq!(tenant_of(&format!("BAD_{}", &id[5..])), None);
    }
}
