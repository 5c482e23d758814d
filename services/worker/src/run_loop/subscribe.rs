//! Subscribing to the actor's mailbox. A worker never brings a mailbox back by consuming it:
//! a sender that finds a mailbox in place takes it for its actor's own and skips checking the
//! actor again, so whoever makes a mailbox checks the actor afterwards and removes what it
//! made if the actor is being deleted.

use abaco::mailbox::{Consumer, MailboxError};

use super::{WorkerContext, WorkerError, records};

/// The worker's consumer, or `None` when its actor is gone or being deleted (nothing to
/// consume: the worker stops).
pub(super) async fn consumer(
    ctx: &WorkerContext,
) -> Result<Option<Box<dyn Consumer>>, WorkerError> {
    match ctx.mailboxes.consume(ctx.actor_id(), 1).await {
        Ok(consumer) => return Ok(Some(consumer)),
        Err(MailboxError::Closed) => {}
        Err(error) => return Err(error.into()),
    }
    // No mailbox (the broker lost it, or the actor's deletion removed it): made again only
    // for an actor that still takes messages, and checked once more after.
    if !records::actor_takes_messages(&ctx.records, ctx.actor_id()).await? {
        tracing::info!(
            actor = ctx.actor_id(),
            "no mailbox and the actor is gone; worker stops"
        );
        return Ok(None);
    }
    ctx.mailboxes.create(ctx.actor_id()).await?;
    if !records::actor_takes_messages(&ctx.records, ctx.actor_id()).await? {
        if let Err(error) = ctx.mailboxes.delete(ctx.actor_id()).await {
            tracing::warn!(actor = ctx.actor_id(), %error, "could not remove the mailbox made for an actor being deleted");
        }
        return Ok(None);
    }
    tracing::warn!(
        actor = ctx.actor_id(),
        "the actor's mailbox was missing; made it again"
    );
    match ctx.mailboxes.consume(ctx.actor_id(), 1).await {
        Ok(consumer) => Ok(Some(consumer)),
        // Deleted again in between: by the actor's deletion.
        Err(MailboxError::Closed) => Ok(None),
        Err(error) => Err(error.into()),
    }
}
