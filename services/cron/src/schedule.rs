//! abaco's cron schedules: `<start> + <n> <unit>`, where `<start>` is `now` or
//! `YYYY-MM-DD HH` (UTC, to the hour) and `<unit>` one of `hour(s)`, `day(s)`, `week(s)`,
//! `month(s)` (calendar months). Ticks are hours; `cronNextEx` is the next one, written
//! `YYYY-MM-DD HH`.

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

/// Why a schedule was refused; the texts are abaco's, where abaco has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not `<start> + <n> <unit>`.
    #[error(
        "The cron is not in the correct format: expected \"<YYYY-MM-DD HH or now> + <n> <unit>\", e.g. \"now + 1 hour\""
    )]
    Format,
    /// The start is neither `now` nor a real `YYYY-MM-DD HH`.
    #[error(
        "The starting date {0} is not in the correct format: expected YYYY-MM-DD HH (UTC, 24-hour) or now"
    )]
    Start(String),
    /// The start is before the current hour.
    #[error("The starting datetime is old. The current UTC time is {0}")]
    Old(String),
    /// `<n>` is not a whole number of at least 1.
    #[error("{0} is not a whole number of units of at least 1")]
    Count(String),
    /// Not one of the units.
    #[error("{0} is an invalid unit of time: use hour(s), day(s), week(s) or month(s)")]
    Unit(String),
}

/// Units of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Calendar months (the day is kept, or the month's last day when it has fewer).
    Month,
}

/// A schedule as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The first tick; `None` for `now`.
    pub start: Option<NaiveDateTime>,
    /// Units between ticks.
    pub every: u32,
    /// The unit.
    pub unit: Unit,
}

/// When a tick is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The next tick is still to come.
    NotYet,
    /// `tick` is to be sent now; `skipped` earlier ticks went by unsent (the schedulers were
    /// down): only the latest missed tick is sent. The tick after it is `next`.
    Fire {
        /// The tick to send.
        tick: NaiveDateTime,
        /// Missed ticks left unsent.
        skipped: u32,
        /// The tick after it.
        next: NaiveDateTime,
    },
}

/// Most ticks looked through for the latest missed one (hourly: eleven years).
const MOST_TICKS: u32 = 100_000;

impl Schedule {
    /// Reads `text`; whether its start is in the past is checked by [`Schedule::first_tick`].
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let (start, every) = text.split_once(" + ").ok_or(ScheduleError::Format)?;
        let mut parts = every.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ScheduleError::Format);
        };
        let start = start.trim();
        let start = if start.eq_ignore_ascii_case("now") {
            None
        } else {
            Some(parse_hour(start).ok_or_else(|| ScheduleError::Start(start.to_string()))?)
        };
        let every = count
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ScheduleError::Count(count.to_string()))?;
        let unit = match unit {
            "hour" | "hours" => Unit::Hour,
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            other => return Err(ScheduleError::Unit(other.to_string())),
        };
        Ok(Self { start, every, unit })
    }

    /// The first tick, given the time now: the start, or this hour for `now`; a start before
    /// this hour is refused.
    pub fn first_tick(&self, now: DateTime<Utc>) -> Result<NaiveDateTime, ScheduleError> {
        let this_hour = hour_of(now);
        match self.start {
            None => Ok(this_hour),
            Some(start) if start < this_hour => Err(ScheduleError::Old(
                this_hour.format("%Y-%m-%d %H:00:00").to_string(),
            )),
            Some(start) => Ok(start),
        }
    }

    /// The tick after `tick`; `None` past the calendar's end.
    pub fn after(&self, tick: NaiveDateTime) -> Option<NaiveDateTime> {
        let n = i64::from(self.every);
        match self.unit {
            Unit::Hour => tick.checked_add_signed(TimeDelta::try_hours(n)?),
            Unit::Day => tick.checked_add_signed(TimeDelta::try_days(n)?),
            Unit::Week => tick.checked_add_signed(TimeDelta::try_weeks(n)?),
            Unit::Month => tick.checked_add_months(Months::new(self.every)),
        }
    }

    /// What is due at `now` for a schedule whose next tick is `next`.
    pub fn due(&self, next: NaiveDateTime, now: DateTime<Utc>) -> Due {
        let this_hour = hour_of(now);
        if next > this_hour {
            return Due::NotYet;
        }
        let mut tick = next;
        let mut skipped = 0;
        loop {
            match self.after(tick) {
                Some(later) if later <= this_hour && skipped < MOST_TICKS => {
                    tick = later;
                    skipped += 1;
                }
                Some(later) => {
                    return Due::Fire {
                        tick,
                        skipped,
                        next: later,
                    };
                }
                // The calendar ends: send this one and never again.
                None => {
                    return Due::Fire {
                        tick,
                        skipped,
                        next: NaiveDateTime::MAX,
                    };
                }
            }
        }
    }
}

/// `now` truncated to the hour, as a UTC calendar time.
pub fn hour_of(now: DateTime<Utc>) -> NaiveDateTime {
    let naive = now.naive_utc();
    naive
        .date()
        .and_hms_opt(naive.hour(), 0, 0)
        .unwrap_or(naive)
}

/// A tick as `cronNextEx` shows it.
pub fn format_hour(tick: NaiveDateTime) -> String {
    tick.format("%Y-%m-%d %H").to_string()
}

/// `YYYY-MM-DD HH` (leading zeros optional, as abaco takes them) as a tick.
pub fn parse_hour(text: &str) -> Option<NaiveDateTime> {
    let (date, hour) = text.trim().split_once(' ')?;
    let mut fields = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?
        .and_hms_opt(hour.trim().parse().ok()?, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(text: &str) -> NaiveDateTime {
        parse_hour(text).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 7).unwrap()
    }

    #[test]
    fn abacos_forms_are_read() {
        let s = Schedule::parse("2030-05-01 09 + 2 hours").unwrap();
        assert_eq!(s.start, Some(at("2030-05-01 09")));
        assert_eq!((s.every, s.unit), (2, Unit::Hour));
        let s = Schedule::parse("NOW + 1 month").unwrap();
        assert_eq!((s.start, s.every, s.unit), (None, 1, Unit::Month));
        assert_eq!(
            Schedule::parse("2030-5-1 9 + 1 week").unwrap().start,
            Some(at("2030-05-01 09"))
        );
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let cases = [
            ("now", ScheduleError::Format),
            ("now+1 hour", ScheduleError::Format),
            ("now + 1", ScheduleError::Format),
            ("now + 1 hour extra", ScheduleError::Format),
            ("tomorrow + 1 hour", ScheduleError::Start("tomorrow".into())),
            (
                "2030-02-30 09 + 1 hour",
                ScheduleError::Start("2030-02-30 09".into()),
            ),
            (
                "2030-01-01 24 + 1 hour",
                ScheduleError::Start("2030-01-01 24".into()),
            ),
            ("now + 0 hours", ScheduleError::Count("0".into())),
            ("now + x hours", ScheduleError::Count("x".into())),
            ("now + 1 minute", ScheduleError::Unit("minute".into())),
            ("now + 1 Hours", ScheduleError::Unit("Hours".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(Schedule::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn the_first_tick_is_the_start_or_this_hour_and_never_past() {
        let now = utc(2030, 5, 1, 9, 41);
        let s = Schedule::parse("now + 1 hour").unwrap();
        assert_eq!(s.first_tick(now).unwrap(), at("2030-05-01 09"));
        let s = Schedule::parse("2030-05-01 09 + 1 day").unwrap();
        assert_eq!(s.first_tick(now).unwrap(), at("2030-05-01 09"));
        let s = Schedule::parse("2030-05-01 08 + 1 day").unwrap();
        assert_eq!(
            s.first_tick(now),
            Err(ScheduleError::Old("2030-05-01 09:00:00".into()))
        );
    }

    #[test]
    fn months_are_calendar_months() {
        let s = Schedule::parse("2030-01-31 10 + 1 month").unwrap();
        assert_eq!(s.after(at("2030-01-31 10")), Some(at("2030-02-28 10")));
        let s = Schedule::parse("now + 2 weeks").unwrap();
        assert_eq!(s.after(at("2030-12-25 00")), Some(at("2031-01-08 00")));
    }

    #[test]
    fn a_due_tick_fires_once_and_missed_ticks_collapse_into_the_latest() {
        let s = Schedule::parse("now + 1 hour").unwrap();
        assert_eq!(
            s.due(at("2030-05-01 10"), utc(2030, 5, 1, 9, 59)),
            Due::NotYet
        );
        assert_eq!(
            s.due(at("2030-05-01 10"), utc(2030, 5, 1, 10, 0)),
            Due::Fire {
                tick: at("2030-05-01 10"),
                skipped: 0,
                next: at("2030-05-01 11")
            }
        );
        // Down from 10:00 to 13:20: 10, 11 and 12 went by; 13 is sent, 14 is next.
        assert_eq!(
            s.due(at("2030-05-01 10"), utc(2030, 5, 1, 13, 20)),
            Due::Fire {
                tick: at("2030-05-01 13"),
                skipped: 3,
                next: at("2030-05-01 14")
            }
        );
        let daily = Schedule::parse("now + 1 day").unwrap();
        // 09:00 daily, down for two days until 08:00: the latest missed tick is yesterday's.
        assert_eq!(
            daily.due(at("2030-05-01 09"), utc(2030, 5, 3, 8, 0)),
            Due::Fire {
                tick: at("2030-05-02 09"),
                skipped: 1,
                next: at("2030-05-03 09")
            }
        );
    }
}
