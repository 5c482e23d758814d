//! Trying a run again (the actor's `maxRetries`): when it could not be carried out (the
//! platform's fault) or exited with one of the actor's `retryExitCodes`, after a pause that
//! doubles each time. Each earlier try is kept on the execution record.

use std::time::Duration;

use abaco::{pb, records::child_key, store::Table, time};

use super::WorkerContext;
use crate::container::{EndedBy, RunError, RunOutcome};

/// Why a finished try should be tried again, if it should and tries are left.
pub(super) fn reason(
    actor: &pb::Actor,
    outcome: &Result<RunOutcome, RunError>,
    tried_before: usize,
) -> Option<String> {
    if tried_before >= actor.max_retries as usize {
        return None;
    }
    match outcome {
        Err(error) => Some(format!("the run could not be carried out: {error}")),
        Ok(run) if run.ended_by == EndedBy::Exited => run
            .exit_code
            .filter(|code| actor.retry_exit_codes.contains(code))
            .map(|code| format!("exited with {code}, one of the actor's retryExitCodes")),
        Ok(_) => None,
    }
}

/// The pause before try `tried_before + 1`: `first`, doubled for each try before, at most
/// `most`.
pub(super) fn backoff(first: Duration, most: Duration, tried_before: usize) -> Duration {
    let doublings = u32::try_from(tried_before.saturating_sub(1)).unwrap_or(u32::MAX);
    first
        .checked_mul(2u32.saturating_pow(doublings))
        .unwrap_or(most)
        .min(most)
}

/// Adds a finished try to the execution's record (unless it ended meanwhile, by a force-quit
/// recorded elsewhere); the record.
pub(super) async fn record_try(
    ctx: &WorkerContext,
    actor_id: &str,
    execution_id: &str,
    outcome: &Result<RunOutcome, RunError>,
    why: &str,
) -> abaco::Result<pb::Execution> {
    let attempt = match outcome {
        Ok(run) => pb::Attempt {
            start_time: time::format(run.start_time),
            finish_time: time::format(run.finish_time),
            exit_code: run.exit_code,
            status_message: why.to_owned(),
        },
        Err(_) => pb::Attempt {
            finish_time: time::now(),
            status_message: why.to_owned(),
            ..Default::default()
        },
    };
    let key = child_key(actor_id, execution_id);
    ctx.settings
        .persist
        .run(|| {
            ctx.records
                .update(Table::Executions, &key, |execution: &mut pb::Execution| {
                    if abaco::status::execution_is_final(execution.status()) {
                        return Ok(false);
                    }
                    execution.attempts.push(attempt.clone());
                    Ok(true)
                })
        })
        .await
}

/// What the logs of a later try begin with: the logs of the tries before it, each headed.
pub(super) fn log_heading(number: usize, of: usize, why: &str) -> String {
    format!("[abaco: try {number} of {of}: {why}; tried again]\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: i64, ended_by: EndedBy) -> RunOutcome {
        RunOutcome {
            container_id: String::new(),
            exit_code: Some(code),
            start_time: chrono::DateTime::default(),
            finish_time: chrono::DateTime::default(),
            runtime_ms: 0,
            cpu_ns: 0,
            io_bytes: 0,
            logs: String::new(),
            results: Vec::new(),
            ended_by,
            oom_killed: false,
            final_state: String::new(),
            error: None,
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (first, most) = (Duration::from_secs(1), Duration::from_secs(5));
        let pauses: Vec<u64> = (1..=5).map(|n| backoff(first, most, n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn only_chosen_exit_codes_and_platform_faults_are_tried_again() {
        let actor = pb::Actor {
            max_retries: 2,
            retry_exit_codes: vec![5],
            ..Default::default()
        };
        let exited = |code| Ok(outcome(code, EndedBy::Exited));
        assert!(reason(&actor, &exited(5), 0).is_some());
        assert!(reason(&actor, &exited(5), 1).is_some());
        assert!(reason(&actor, &exited(5), 2).is_none(), "no tries left");
        assert!(reason(&actor, &exited(0), 0).is_none());
        assert!(reason(&actor, &exited(1), 0).is_none());
        let fault: Result<RunOutcome, RunError> = Err(RunError::Io(std::io::Error::other("x")));
        assert!(reason(&actor, &fault, 0).is_some());
        let quit = Ok(outcome(5, EndedBy::ForceQuit));
        assert!(reason(&actor, &quit, 0).is_none(), "a force-quit is final");
    }
}
