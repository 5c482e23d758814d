//! The end of an execution: its logs and results stored, then its final record, which is
//! what makes the ack safe.

use std::time::Duration;

use abaco::{pb, pb::ExecutionStatus, records::child_key, store::Table, time};
use bytes::Bytes;

use super::{WorkerContext, records, spec::mem_limit};
use crate::container::{EndedBy, RunError, RunOutcome};

/// Stores logs and results, then the final execution record: the record is what makes the
/// ack safe, so everything it points at is written first.
#[tracing::instrument(name = "execution.record", skip_all)]
pub(super) async fn record(
    ctx: &WorkerContext,
    actor: &pb::Actor,
    execution: &pb::Execution,
    outcome: Result<RunOutcome, RunError>,
    earlier_logs: &str,
) -> abaco::Result<pb::Execution> {
    let key = child_key(&actor.id, &execution.id);
    let ttl = Some(if actor.log_ex > 0 {
        Duration::from_secs(u64::from(actor.log_ex))
    } else {
        ctx.settings.default_log_ttl
    });
    let (logs, results) = match &outcome {
        Ok(run) => (format!("{earlier_logs}{}", run.logs), run.results.concat()),
        Err(error) => (
            format!("{earlier_logs}[abaco: the run failed: {error}]\n"),
            Vec::new(),
        ),
    };
    let put = |table, bytes: Bytes| {
        let key = key.clone();
        async move {
            ctx.settings
                .persist
                .run(|| ctx.records.put_blob(table, &key, bytes.clone(), ttl))
                .await
        }
    };
    put(Table::Logs, Bytes::from(logs)).await?;
    put(Table::Results, Bytes::from(results)).await?;

    records::finish(
        &ctx.records,
        &actor.id,
        &execution.id,
        ctx.settings.persist,
        |record| match &outcome {
            Ok(run) => {
                record.start_time = time::format(run.start_time);
                record.finish_time = time::format(run.finish_time);
                record.runtime = run.runtime_ms;
                record.cpu = run.cpu_ns;
                record.io = run.io_bytes;
                record.exit_code = run.exit_code;
                record.container_id = run.container_id.clone();
                record.final_state.clone_from(&run.final_state);
                let failure = if run.oom_killed {
                    Some(format!(
                        "ran out of memory: the kernel killed the run at its memory limit{}",
                        mem_limit(ctx, actor)
                            .map(|bytes| format!(" of {bytes} bytes"))
                            .unwrap_or_default()
                    ))
                } else {
                    run.error.clone()
                };
                if let Some(why) = failure {
                    record.set_status(ExecutionStatus::Error);
                    record.status_message = why;
                } else {
                    record.set_status(ExecutionStatus::Complete);
                    record.status_message = match run.ended_by {
                        EndedBy::Exited => String::new(),
                        EndedBy::ForceQuit => "force-quit on request".into(),
                        EndedBy::TimedOut => {
                            "timed out: killed at the actor's maximum run time".into()
                        }
                    };
                }
            }
            Err(error) => {
                record.set_status(ExecutionStatus::Error);
                record.finish_time = time::now();
                record.status_message = match error {
                    RunError::ImageNotFound { image, .. } => {
                        format!("image {image} is not available on the Docker host")
                    }
                    other => format!("the run could not be carried out: {other}"),
                };
            }
        },
    )
    .await
}
