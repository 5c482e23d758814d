//! Record ids: short, URL-safe, hard to guess, and never confusable with an alias.
//!
//! An id is 13 base62 characters drawn from a cryptographic generator (about 77 bits), the
//! first of which is a digit. Aliases must start with a letter, so the two never collide.

use rand::Rng;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of every generated id.
pub const ID_LEN: usize = 13;

/// A fresh random id.
pub fn new_id() -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(ID_LEN);
    id.push(char::from(ALPHABET[rng.random_range(0..10)]));
    for _ in 1..ID_LEN {
        id.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    }
    id
}

/// The id `seed` always stands for: the same shape as a fresh one, so that something done
/// again for the same cause (an event delivered twice, a cron tick fired by two schedulers)
/// lands on the same record and is recognised as a repeat.
pub fn derived_id(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut id = String::with_capacity(ID_LEN);
    id.push(char::from(ALPHABET[usize::from(digest[0]) % 10]));
    for byte in &digest[1..ID_LEN] {
        id.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
    }
    id
}

/// Whether `text` has the shape of an id this module makes.
pub fn looks_like_id(text: &str) -> bool {
    text.len() == ID_LEN
        && text.as_bytes()[0].is_ascii_digit()
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_well_formed_and_distinct() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| looks_like_id(id)));
        assert!(!looks_like_id("myalias"));
        assert!(!looks_like_id("A234567890123"));
    }

    #[test]
    fn derived_ids_are_stable_per_seed_and_well_formed() {
        let one = derived_id("execution/EXECUTION_COMPLETE");
        assert_eq!(one, derived_id("execution/EXECUTION_COMPLETE"));
        assert_ne!(one, derived_id("execution/EXECUTION_STARTED"));
        assert!(looks_like_id(&one));
    }
}
