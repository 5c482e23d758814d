//! The events of a run. That it started is told on the side, without holding up the run;
//! that it ended is told before its message is acked, so that an event lost to a crash or a
//! broker failure is told again when the message comes back.

use abaco::pb;
use abaco_events::{EmitError, EventType};

use super::WorkerContext;

/// Tells, in the background, that `execution` started. Best effort: a failure is logged.
pub fn started(ctx: &WorkerContext, actor: &pb::Actor, execution: &pb::Execution) {
    if !abaco_events::Envelope::has_receivers(actor) {
        return;
    }
    let events = ctx.events.clone();
    let (actor, execution) = (actor.clone(), execution.clone());
    tokio::spawn(async move {
        if let Err(error) = events
            .execution_event(&actor, &execution, EventType::ExecutionStarted)
            .await
        {
            tracing::warn!(execution = %execution.id, %error, "EXECUTION_STARTED not emitted");
        }
    });
}

/// Tells that `execution` ended; the message must not be acked unless this succeeded.
pub async fn ended(
    ctx: &WorkerContext,
    actor: &pb::Actor,
    execution: &pb::Execution,
) -> Result<(), EmitError> {
    ctx.events
        .execution_event(actor, execution, EventType::ExecutionComplete)
        .await
        .map(|_| ())
}
