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

/// Whether the record time `stamp` lies more than `age` in the past. An empty or unreadable
/// stamp counts as old: a record that never beat is not alive.
pub fn older_than(stamp: &str, age: std::time::Duration) -> bool {
    let Some(at) = parse(stamp) else {
        return true;
    };
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    Utc::now() - at > age
}

/// Whether the record time `stamp` lies more than `age` before `now` (the store's clock, see
/// [`Records::now`](crate::records::Records::now)). An empty or unreadable stamp counts as
/// old.
pub fn older_than_at(stamp: &str, age: std::time::Duration, now: DateTime<Utc>) -> bool {
    let Some(at) = parse(stamp) else {
        return true;
    };
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    now - at > age
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

    #[test]
    fn age_of_a_stamp() {
        let hour = std::time::Duration::from_secs(3600);
        assert!(!older_than(&now(), hour));
        assert!(older_than(
            &format(Utc::now() - chrono::Duration::hours(2)),
            hour
        ));
        assert!(older_than("", hour), "a stamp never written counts as old");
    }
}
