//! How an actor record says "no limit" for its memory and CPUs (abaco's `-1`): zero means the
//! platform's default, this value none at all.

/// `memLimit` or `maxCpus` of an actor whose runs have no such limit.
pub const NO_LIMIT: u64 = u64::MAX;

/// A record's limit as the run gets it: its own, the platform's default for 0, none for
/// [`NO_LIMIT`].
pub fn effective(own: u64, default: Option<u64>) -> Option<u64> {
    match own {
        0 => default,
        NO_LIMIT => None,
        limit => Some(limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_the_default_and_no_limit_is_none() {
        assert_eq!(effective(0, Some(5)), Some(5));
        assert_eq!(effective(NO_LIMIT, Some(5)), None);
        assert_eq!(effective(7, Some(5)), Some(7));
    }
}
