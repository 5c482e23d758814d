//! Values of a query as abaco types them: booleans, null, times, numbers, or text.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

/// Field names (last path segment) whose values are times.
const TIME_FIELDS: [&str; 9] = [
    "start_time",
    "finish_time",
    "message_received_time",
    "last_execution_time",
    "last_update_time",
    "create_time",
    "last_health_check_time",
    "StartedAt",
    "FinishedAt",
];

/// Whether the field at `path` holds times.
pub(crate) fn is_time_field(path: &[String]) -> bool {
    path.last()
        .is_some_and(|last| TIME_FIELDS.contains(&last.as_str()))
}

/// One value of a query, with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Typed {
    pub(crate) value: Kind,
    pub(crate) text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Number(f64),
    Time(DateTime<Utc>),
    Text(String),
}

impl Typed {
    /// `text` typed for a field that holds times (`time`) or not; `None` for a time field
    /// whose value is not a time.
    pub(crate) fn parse(text: &str, time: bool) -> Option<Self> {
        let trimmed = text.trim();
        let value = if trimmed.eq_ignore_ascii_case("none") || trimmed.eq_ignore_ascii_case("null")
        {
            Kind::Null
        } else if time {
            Kind::Time(parse_time(trimmed)?)
        } else if trimmed.eq_ignore_ascii_case("true") {
            Kind::Bool(true)
        } else if trimmed.eq_ignore_ascii_case("false") {
            Kind::Bool(false)
        } else if let Some(number) = trimmed.parse::<f64>().ok().filter(|n| n.is_finite()) {
            Kind::Number(number)
        } else {
            Kind::Text(text.to_string())
        };
        Some(Self {
            value,
            text: text.to_string(),
        })
    }

    /// How this value orders against a document's value; `None` when they do not compare.
    pub(crate) fn compare(&self, doc: Option<&Value>) -> Option<std::cmp::Ordering> {
        match (&self.value, doc) {
            (Kind::Null, None | Some(Value::Null)) => Some(std::cmp::Ordering::Equal),
            (_, None | Some(Value::Null)) | (Kind::Null, _) => None,
            (Kind::Bool(b), Some(Value::Bool(d))) => Some(d.cmp(b)),
            (Kind::Number(n), Some(Value::Number(d))) => d.as_f64()?.partial_cmp(n),
            (Kind::Number(n), Some(Value::String(d))) => match d.parse::<f64>() {
                Ok(d) => d.partial_cmp(n),
                Err(_) => Some(d.as_str().cmp(self.text.as_str())),
            },
            (Kind::Time(t), Some(Value::String(d))) => Some(parse_time(d)?.cmp(t)),
            (Kind::Text(s), Some(Value::String(d))) => Some(d.as_str().cmp(s.as_str())),
            (_, Some(Value::String(d))) => Some(d.as_str().cmp(self.text.as_str())),
            _ => None,
        }
    }
}

/// A time in ISO 8601, as much of it as is given: `2020`, `2020-05`, `2020-05-01`,
/// `2020-05-01T14`, `...T14:45`, `...T14:45:41(.fff)`, then `Z` or an offset (UTC without).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(full) = DateTime::parse_from_rfc3339(text) {
        return Some(full.with_timezone(&Utc));
    }
    let (local, offset) = split_offset(text)?;
    let (date, time) = match local.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (local, None),
    };
    let mut parts = date.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = parts.next().map_or(Some(1), |d| d.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = match time {
        None => NaiveTime::MIN,
        Some(time) => {
            let mut fields = time.split(':');
            let hour: u32 = fields.next()?.parse().ok()?;
            let minute: u32 = fields.next().map_or(Some(0), |m| m.parse().ok())?;
            let (second, nanos) = match fields.next() {
                None => (0, 0),
                Some(seconds) => {
                    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
                    let nanos = if fraction.is_empty() {
                        0
                    } else {
                        format!("{fraction:0<9}").get(..9)?.parse().ok()?
                    };
                    (whole.parse().ok()?, nanos)
                }
            };
            NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
        }
    };
    let local = NaiveDateTime::new(date, time);
    Some((local - offset).and_utc())
}

/// Splits a trailing `Z` or `±HH:MM` off `text`.
fn split_offset(text: &str) -> Option<(&str, chrono::TimeDelta)> {
    if let Some(local) = text.strip_suffix(['Z', 'z']) {
        return Some((local, chrono::TimeDelta::zero()));
    }
    let time_part = text.find('T').map_or(0, |at| at + 1);
    if let Some(at) = text[time_part..].rfind(['+', '-']).map(|at| at + time_part)
        && time_part > 0
    {
        let offset: FixedOffset = format!("+00:00{}", &text[at..])
            .get(6..)?
            .parse::<FixedOffset>()
            .ok()?;
        return Some((
            &text[..at],
            chrono::TimeDelta::seconds(i64::from(offset.local_minus_utc())),
        ));
    }
    Some((text, chrono::TimeDelta::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn partial_times_fill_in_from_the_start() {
        let at = |y, mo, d, h, mi, s| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        assert_eq!(parse_time("2020"), Some(at(2020, 1, 1, 0, 0, 0)));
        assert_eq!(parse_time("2020-05"), Some(at(2020, 5, 1, 0, 0, 0)));
        assert_eq!(parse_time("2020-05-01T14"), Some(at(2020, 5, 1, 14, 0, 0)));
        assert_eq!(
            parse_time("2020-05-01T14:45Z"),
            Some(at(2020, 5, 1, 14, 45, 0))
        );
        assert_eq!(
            parse_time("2020-05-01T14:45:41+02:00"),
            Some(at(2020, 5, 1, 12, 45, 41))
        );
        assert_eq!(
            parse_time("2020-05-01T14:45:41.591Z")
                .unwrap()
                .timestamp_subsec_millis(),
            591
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2020-13"), None);
    }

    #[test]
    fn values_are_typed_as_abaco_types_them() {
        let kind = |text: &str| Typed::parse(text, false).unwrap().value;
        assert_eq!(kind("TRUE"), Kind::Bool(true));
        assert_eq!(kind("None"), Kind::Null);
        assert_eq!(kind("3"), Kind::Number(3.0));
        assert_eq!(kind("abaco/x"), Kind::Text("abaco/x".into()));
        assert!(Typed::parse("soon", true).is_none());
    }
}
