//! Actors: register, read, update, delete, and the state of stateful ones. Every call goes
//! through [`abaco_auth::Access`] at the level abaco asks for: READ to read, UPDATE to change.

use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel},
    store::Table,
    time,
};
use bytes::Bytes;

use crate::{
    RegistrationService, rules,
    spec::{self, Owner},
};

/// Largest state document of a stateful actor: runs get it in `_abaco_actor_state`, which
/// Linux bounds like every environment variable.
const MAX_STATE_BYTES: usize = abaco::names::max_env_value("_abaco_actor_state");

impl RegistrationService {
    pub(crate) async fn create(&self, spec: pb::ActorSpec, caller: &Caller) -> Result<pb::Actor> {
        if caller.via_nonce() {
            return Err(AbacoError::Forbidden(
                "a nonce cannot register actors".into(),
            ));
        }
        let owner = Owner {
            tenant: &caller.tenant,
            user: &caller.user,
        };
        let now = time::now();
        let mut spec = spec;
        self.resolve_link(&mut spec, caller).await?;
        rules::check_unsupported(&spec)?;
        let mut actor = spec::new_actor(&spec, &owner, &self.limits, &now);
        crate::cron_fields::apply(None, &mut actor, &spec, chrono::Utc::now())?;
        let mut baseline = spec::new_actor(&rules::unrestricted(&spec), &owner, &self.limits, &now);
        baseline.id.clone_from(&actor.id);
        rules::check_restricted(&baseline, &actor, caller)?;
        rules::check_admin_fields(&baseline, &actor, caller)?;
        spec::validate(&actor, &self.limits)?;
        self.check_link(&actor).await?;
        // The mailbox first: an actor record must never exist without somewhere to queue.
        self.mailboxes
            .create(&actor.id)
            .await
            .map_err(|e| AbacoError::Unavailable(e.to_string()))?;
        self.records()
            .insert(Table::Actors, &actor.id, &actor)
            .await?;
        if let Err(error) = self.fleet.actor_changed(&actor).await {
            tracing::warn!(actor = %actor.id, %error, "no worker started yet");
        }
        self.records().actor(&actor.id).await
    }

    pub(crate) async fn get(&self, identifier: &str, caller: &Caller) -> Result<pb::Actor> {
        Ok(self
            .access
            .actor(caller, identifier, PermissionLevel::Read)
            .await?
            .actor)
    }

    pub(crate) async fn update(
        &self,
        request: pb::UpdateActorRequest,
        caller: &Caller,
    ) -> Result<pb::Actor> {
        let granted = self
            .access
            .actor(caller, &request.actor_id, PermissionLevel::Update)
            .await?;
        let caller = &granted.caller;
        let mut spec = request.spec.unwrap_or_default();
        rules::check_unsupported(&spec)?;
        self.resolve_link(&mut spec, caller).await?;
        let how = spec::Update {
            replace: request.replace,
            force: request.force,
        };
        let preview = spec::updated(&granted.actor, &spec, how, caller, &self.limits)?;
        self.check_link(&preview).await?;
        let limits = self.limits.clone();
        let updated = self
            .records()
            .update(Table::Actors, &granted.actor.id, |actor: &mut pb::Actor| {
                if actor.status() == pb::ActorStatus::ShuttingDown {
                    return Err(AbacoError::Conflict("actor is being deleted".into()));
                }
                *actor = spec::updated(actor, &spec, how, caller, &limits)?;
                Ok(true)
            })
            .await?;
        if let Err(error) = self.fleet.actor_changed(&updated).await {
            tracing::warn!(actor = %updated.id, %error, "workers not replaced yet");
        }
        Ok(updated)
    }

    /// Deletes an actor with its workers, mailbox, records, nonces, permissions and the
    /// aliases that name it; answers its id.
    pub(crate) async fn delete(&self, identifier: &str, caller: &Caller) -> Result<String> {
        let actor = self
            .access
            .actor(caller, identifier, PermissionLevel::Update)
            .await?
            .actor;
        self.records()
            .update(Table::Actors, &actor.id, |actor: &mut pb::Actor| {
                actor.set_status(pb::ActorStatus::ShuttingDown);
                actor.status_message = "deleting".into();
                Ok(true)
            })
            .await?;
        self.fleet.actor_deleted(&actor.id).await?;
        self.mailboxes
            .delete(&actor.id)
            .await
            .map_err(|e| AbacoError::Unavailable(e.to_string()))?;
        crate::access::forget_aliases_of(&self.access, &actor).await?;
        self.records().purge_actor(&actor.id).await?;
        Ok(actor.id)
    }

    /// Turns the spec's `link` (an id or an alias) into the id of an actor the caller may send
    /// to: events are messages to it, so linking needs EXECUTE there (and another tenant's
    /// actor is not found).
    async fn resolve_link(&self, spec: &mut pb::ActorSpec, caller: &Caller) -> Result<()> {
        let Some(link) = spec.link.as_mut().filter(|link| !link.is_empty()) else {
            return Ok(());
        };
        let linked = self
            .access
            .actor(caller, link, PermissionLevel::Execute)
            .await
            .map_err(|error| match error {
                AbacoError::NotFound(_) => AbacoError::invalid(format!("link: no actor {link}")),
                AbacoError::Forbidden(why) => AbacoError::Forbidden(format!("link: {why}")),
                other => other,
            })?;
        *link = linked.actor.id;
        Ok(())
    }

    async fn check_link(&self, actor: &pb::Actor) -> Result<()> {
        if actor.link.is_empty() {
            return Ok(());
        }
        // Follow the chain: a link must exist and must not lead back to this actor.
        let mut next = actor.link.clone();
        for _ in 0..32 {
            if next == actor.id {
                return Err(AbacoError::invalid("link would form a cycle"));
            }
            let linked: Option<pb::Actor> = self.records().get(Table::Actors, &next).await?;
            match linked {
                None => return Err(AbacoError::invalid(format!("link: no actor {next}"))),
                Some(linked) if linked.link.is_empty() => return Ok(()),
                Some(linked) => next = linked.link,
            }
        }
        Err(AbacoError::invalid("link chain is too long"))
    }

    async fn stateful_actor(
        &self,
        identifier: &str,
        caller: &Caller,
        need: PermissionLevel,
    ) -> Result<pb::Actor> {
        let actor = self.access.actor(caller, identifier, need).await?.actor;
        if actor.stateless {
            return Err(AbacoError::invalid(
                "actor is stateless; register it with stateless: false to keep state",
            ));
        }
        Ok(actor)
    }

    pub(crate) async fn state(&self, identifier: &str, caller: &Caller) -> Result<pb::ActorState> {
        let actor = self
            .stateful_actor(identifier, caller, PermissionLevel::Read)
            .await?;
        let state = self.records().get_blob(Table::State, &actor.id).await?;
        Ok(pb::ActorState {
            state_json: state
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_else(|| "{}".into()),
            actor_id: actor.id,
        })
    }

    pub(crate) async fn set_state(
        &self,
        request: pb::SetStateRequest,
        caller: &Caller,
    ) -> Result<pb::ActorState> {
        let actor = self
            .stateful_actor(&request.actor_id, caller, PermissionLevel::Update)
            .await?;
        if request.state_json.len() > MAX_STATE_BYTES {
            return Err(AbacoError::TooLarge(format!(
                "state must be at most {MAX_STATE_BYTES} bytes (runs get it as the _abaco_actor_state environment variable, which Linux limits)"
            )));
        }
        serde_json::from_str::<serde_json::Value>(&request.state_json)
            .map_err(|e| AbacoError::invalid(format!("state must be JSON: {e}")))?;
        self.records()
            .put_blob(
                Table::State,
                &actor.id,
                Bytes::from(request.state_json.clone()),
                None,
            )
            .await?;
        Ok(pb::ActorState {
            actor_id: actor.id,
            state_json: request.state_json,
        })
    }
}
