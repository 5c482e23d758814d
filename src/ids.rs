//! Record ids: short, URL-safe, hard to guess, and never confusable with an alias.
//!
//! An id is 13 base62 characters, the first of which is a digit. Aliases must start with a
//! letter, so the two never collide. Most ids are drawn whole from a cryptographic generator
//! (about 77 bits); an execution's id starts with the millisecond it was made, so that the
//! store's B-trees, keyed by actor and execution id, take new executions at one edge instead
//! of on random pages (half the pages written per commit), and ends with 36 random bits.

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

/// Characters of a time-ordered id that carry its time: a digit, then six base62 digits.
const TIME_CHARS: usize = 7;

/// Milliseconds a time-ordered id's time spans before it starts again from `0000000`
/// (10 * 62^6, about 18 years from [`TIME_EPOCH_MS`]).
const TIME_SPAN_MS: u64 = 10 * 62u64.pow(6);

/// 2025-01-01T00:00:00Z, where time-ordered ids start.
const TIME_EPOCH_MS: u64 = 1_735_689_600_000;

/// A fresh id that sorts (as a string) after every one made before it in an earlier
/// millisecond, on any host whose clock agrees: the time in milliseconds, then random
/// characters. Two ids of the same millisecond collide with a chance of 1 in 2^36, so a
/// caller that stores one under a unique key tries a new one on a conflict. Until 2043 the
/// order holds; then the time starts again from the lowest ids, which stay valid.
pub fn new_time_ordered_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    time_ordered_id(now.saturating_sub(TIME_EPOCH_MS) % TIME_SPAN_MS)
}

fn time_ordered_id(mut time: u64) -> String {
    let mut digits = [0u8; TIME_CHARS];
    for digit in digits.iter_mut().skip(1).rev() {
        *digit = ALPHABET[usize::try_from(time % 62).unwrap_or(0)];
        time /= 62;
    }
    // What is left is below 10, by TIME_SPAN_MS: the leading digit.
    digits[0] = ALPHABET[usize::try_from(time % 10).unwrap_or(0)];
    let mut rng = rand::rng();
    let mut id = String::with_capacity(ID_LEN);
    id.extend(digits.iter().map(|&b| char::from(b)));
    for _ in TIME_CHARS..ID_LEN {
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
    fn time_ordered_ids_are_well_formed_and_sort_by_time() {
        let times = [0, 1, 61, 62, 1_000, 86_400_000, TIME_SPAN_MS - 1];
        let ids: Vec<String> = times.iter().map(|&t| time_ordered_id(t)).collect();
        assert!(ids.iter().all(|id| looks_like_id(id)), "{ids:?}");
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        assert!(ids[0].starts_with("0000000"), "{ids:?}");
        assert!(ids[6].starts_with("9zzzzzz"), "{ids:?}");
        let now = new_time_ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(new_time_ordered_id() > now);
        let same: HashSet<String> = (0..1_000).map(|_| time_ordered_id(5)).collect();
        assert_eq!(
            same.len(),
            1_000,
            "the random part tells ids of one millisecond apart"
        );
    }

    #[test]
    fn derived_ids_are_stable_per_seed_and_well_formed() {
        let one = derived_id("execution/EXECUTION_COMPLETE");
        assert_eq!(one, derived_id("execution/EXECUTION_COMPLETE"));
        assert_ne!(one, derived_id("execution/EXECUTION_STARTED"));
        assert!(looks_like_id(&one));
    }
}
