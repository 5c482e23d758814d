//! An actor's cron fields as a registration or an update leaves them: a new schedule is
//! checked (400 naming what is wrong) and its first tick becomes `cronNextEx`; a schedule sent
//! again unchanged keeps its next tick; an empty one ends the schedule.

use abaco::{AbacoError, Result, pb};
use abaco_cron::{Schedule, schedule::format_hour};
use chrono::{DateTime, Utc};

/// Sets `next`'s cron fields from `spec`, given the actor before (`None` on registration).
pub fn apply(
    previous: Option<&pb::Actor>,
    next: &mut pb::Actor,
    spec: &pb::ActorSpec,
    now: DateTime<Utc>,
) -> Result<()> {
    let kept_tick = previous.map(|p| p.cron_next_ex.clone()).unwrap_or_default();
    let Some(text) = spec.cron_schedule.as_deref() else {
        next.cron_next_ex = kept_tick;
        return Ok(());
    };
    if text.trim().is_empty() {
        next.cron_schedule.clear();
        next.cron_on = false;
        next.cron_next_ex.clear();
        return Ok(());
    }
    if previous.is_some_and(|p| p.cron_schedule == text) {
        next.cron_next_ex = kept_tick;
        return Ok(());
    }
    let first = Schedule::parse(text)
        .and_then(|schedule| schedule.first_tick(now))
        .map_err(|error| AbacoError::invalid(format!("cronSchedule {text:?}: {error}")))?;
    next.cron_next_ex = format_hour(first);
    // A new schedule runs unless the caller says otherwise.
    next.cron_on = spec.cron_on.unwrap_or(true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 5, 1, 9, 30, 0).unwrap()
    }

    fn with_schedule(text: &str) -> pb::ActorSpec {
        pb::ActorSpec {
            cron_schedule: Some(text.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_schedule_starts_on_its_first_tick() {
        let spec = with_schedule("now + 1 hour");
        let mut actor = pb::Actor {
            cron_schedule: "now + 1 hour".into(),
            ..Default::default()
        };
        apply(None, &mut actor, &spec, now()).unwrap();
        assert_eq!(actor.cron_next_ex, "2030-05-01 09");
        assert!(actor.cron_on);
    }

    #[test]
    fn bad_schedules_are_refused_naming_the_field() {
        let spec = with_schedule("2030-05-01 08 + 1 hour");
        let mut actor = pb::Actor::default();
        let error = apply(None, &mut actor, &spec, now()).unwrap_err();
        assert!(matches!(error, AbacoError::Invalid(_)));
        assert!(error.to_string().contains("cronSchedule"), "{error}");
        assert!(error.to_string().contains("old"), "{error}");
    }

    #[test]
    fn an_unchanged_schedule_keeps_its_tick_and_an_empty_one_ends() {
        let before = pb::Actor {
            cron_schedule: "now + 1 hour".into(),
            cron_on: true,
            cron_next_ex: "2030-05-01 12".into(),
            ..Default::default()
        };
        let mut next = before.clone();
        apply(
            Some(&before),
            &mut next,
            &with_schedule("now + 1 hour"),
            now(),
        )
        .unwrap();
        assert_eq!(next.cron_next_ex, "2030-05-01 12");
        let mut next = pb::Actor::default();
        apply(Some(&before), &mut next, &pb::ActorSpec::default(), now()).unwrap();
        assert_eq!(next.cron_next_ex, "2030-05-01 12");
        let mut next = before.clone();
        apply(Some(&before), &mut next, &with_schedule(""), now()).unwrap();
        assert_eq!(
            (
                next.cron_schedule.as_str(),
                next.cron_on,
                next.cron_next_ex.as_str()
            ),
            ("", false, "")
        );
    }
}
