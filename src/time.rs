//! Timestamps as the API shows them: RFC 3339, UTC, millisecond precision.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, formatted for a record.
pub fn now() -> String {
    format(Utc::now())
}

/// Formats an instant for a record.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a record's timestamp; `None` for an empty or malformed one.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Milliseconds since the Unix epoch, for expiry bookkeeping.
pub fn now_millis() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let text = now();
        let back = parse(&text).map(format);
        assert_eq!(back.as_deref(), Some(text.as_str()));
        assert!(text.ends_with('Z'));
        assert_eq!(parse("yesterday"), None);
    }
}
