//! Dead letters: messages a worker put aside instead of running (no execution record, or not
//! readable), listed, replayed under their own execution ids, or discarded by their actor's
//! users.

use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel},
    records::child_key,
    store::Table,
};
use abaco_intake::Incoming;
use prost::Message;

use crate::MessagesService;

impl MessagesService {
    /// The actor's dead letters, oldest first.
    pub(crate) async fn dead_letters(
        &self,
        actor_id: &str,
        caller: &Caller,
    ) -> Result<pb::DeadLetters> {
        let actor = self
            .actor_for(actor_id, caller, PermissionLevel::Read)
            .await?;
        let mut letters = self.all_letters(&actor.id).await?;
        letters.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(pb::DeadLetters {
            actor_id: actor.id,
            dead_letters: letters,
            ..Default::default()
        })
    }

    /// Sends the named dead letter (or all) again, each under its own execution id, so that a
    /// replay repeated (or racing another) accepts each message once; then forgets them.
    pub(crate) async fn replay(
        &self,
        request: pb::DeadLetterRef,
        caller: &Caller,
    ) -> Result<pb::ReplayedDeadLetters> {
        let actor = self
            .actor_for(&request.actor_id, caller, PermissionLevel::Execute)
            .await?;
        let letters = self.chosen(&actor.id, &request.dead_letter_id).await?;
        let mut execution_ids = Vec::with_capacity(letters.len());
        for letter in letters {
            let message = pb::MailboxMessage::decode(letter.message.as_slice()).map_err(|_| {
                AbacoError::invalid(format!(
                    "dead letter {} is not a message this platform can read; it cannot be replayed (delete it)",
                    letter.id
                ))
            })?;
            let incoming = Incoming {
                actor_id: actor.id.clone(),
                body: message.body,
                content_type: message.content_type,
                environment: message.environment,
                executor: message.sender,
                execution_id: Some(letter.id.clone()),
                trace_context: message.trace_context,
            };
            // When a record of that id exists already, the message is accepted (by an earlier
            // replay, or its first send was not lost after all) and this adds nothing.
            self.intake.accept_once(incoming).await?;
            self.records
                .delete(Table::DeadLetters, &child_key(&actor.id, &letter.id))
                .await?;
            execution_ids.push(letter.id);
        }
        Ok(pb::ReplayedDeadLetters {
            actor_id: actor.id,
            execution_ids,
        })
    }

    /// Forgets a dead letter without sending it; the ones left.
    pub(crate) async fn discard(
        &self,
        request: pb::DeadLetterRef,
        caller: &Caller,
    ) -> Result<pb::DeadLetters> {
        let actor = self
            .actor_for(&request.actor_id, caller, PermissionLevel::Update)
            .await?;
        if request.dead_letter_id.is_empty() {
            return Err(AbacoError::invalid("name the dead letter to delete"));
        }
        let removed = self
            .records
            .delete(
                Table::DeadLetters,
                &child_key(&actor.id, &request.dead_letter_id),
            )
            .await?;
        if !removed {
            return Err(AbacoError::not_found(
                "dead letter",
                &request.dead_letter_id,
            ));
        }
        self.dead_letters(&actor.id, caller).await
    }

    /// The dead letter named (`NotFound` if there is none), or all of the actor's.
    async fn chosen(&self, actor_id: &str, id: &str) -> Result<Vec<pb::DeadLetter>> {
        if id.is_empty() {
            return self.all_letters(actor_id).await;
        }
        self.records
            .get(Table::DeadLetters, &child_key(actor_id, id))
            .await?
            .map(|letter| vec![letter])
            .ok_or_else(|| AbacoError::not_found("dead letter", id))
    }

    /// Every dead letter of the actor, in key order.
    async fn all_letters(&self, actor_id: &str) -> Result<Vec<pb::DeadLetter>> {
        self.records
            .list(Table::DeadLetters, &format!("{actor_id}/"))
            .await
    }
}
