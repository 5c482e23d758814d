//! Alias names: what may be one, and where each is kept. An alias must start with a letter and
//! an actor id with a digit, so the two can never be taken for each other.

use abaco::{AbacoError, Result, ids};

/// Words that name routes beside `/actors/{id}`, or parts of an actor: never aliases.
pub const RESERVED: &[&str] = &[
    "adapters",
    "admin",
    "aliases",
    "configs",
    "executions",
    "logs",
    "messages",
    "nonces",
    "permissions",
    "results",
    "search",
    "state",
    "utilization",
    "workers",
];

/// Longest alias.
pub const MAX_LEN: usize = 128;

/// Refuses a name that cannot be an alias, saying why.
pub fn check_name(alias: &str) -> Result<()> {
    let invalid = |why: String| Err(AbacoError::Invalid(format!("alias {alias:?} {why}")));
    if alias.is_empty() || alias.len() > MAX_LEN {
        return invalid(format!("must be 1 to {MAX_LEN} characters"));
    }
    if ids::looks_like_id(alias) {
        return invalid("has the shape of an actor id".into());
    }
    if RESERVED.contains(&alias) {
        return invalid(format!(
            "is a reserved word; these cannot be aliases: {}",
            RESERVED.join(", ")
        ));
    }
    if !alias.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return invalid("must start with a letter (actor ids start with a digit)".into());
    }
    if let Some(bad) = alias
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~".contains(*c)))
    {
        return invalid(format!(
            "contains {bad:?}; an alias is letters, digits and - _ . ~"
        ));
    }
    Ok(())
}

/// Whether `identifier` could be an alias (else it is an actor id or nothing).
pub fn could_be(identifier: &str) -> bool {
    check_name(identifier).is_ok()
}

/// Key of an alias in the aliases table.
pub fn key(tenant: &str, alias: &str) -> String {
    format!("{tenant}/{alias}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_with_reasons() {
        assert!(check_name("my-actor.v2").is_ok());
        for (name, why) in [
            ("search", "reserved"),
            ("configs", "reserved"),
            ("0A3bcdEFghIJk", "actor id"),
            ("1abc", "letter"),
            ("a/b", "contains"),
            ("a b", "contains"),
            ("", "characters"),
        ] {
            let error = check_name(name).unwrap_err().to_string();
            assert!(error.contains(why), "{name}: {error}");
        }
    }
}
