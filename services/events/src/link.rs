//! Links: the event as a message to the actor the emitting actor links to, sent on behalf of
//! the emitting actor's owner, once per event however often the event is delivered.

use std::collections::HashMap;

use abaco::{AbacoError, ids, pb::PermissionLevel};
use abaco_auth::Access;
use abaco_intake::{Incoming, Intake};

use crate::event::Envelope;

/// Who a linked run is from (`_abaco_username`, the execution's executor), as in abaco.
pub const EXECUTOR: &str = "Abaco Event";

/// Why an event did not reach its linked actor.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// It never will: the linked actor is gone, or the owner may no longer send to it.
    #[error("{0}")]
    Undeliverable(String),
    /// The store or the broker failed; later it may work.
    #[error("{0}")]
    Transient(AbacoError),
}

/// Sends events to linked actors.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    intake: Intake,
    access: Access,
}

impl Links {
    pub(crate) fn new(intake: Intake, access: Access) -> Self {
        Self { intake, access }
    }

    /// Sends `envelope` to its linked actor: the new execution's id, or `None` when an
    /// earlier delivery of the same event sent it already.
    pub(crate) async fn deliver(&self, envelope: &Envelope) -> Result<Option<String>, LinkError> {
        let target = match self.access.records().actor(&envelope.link).await {
            Ok(target) => target,
            Err(AbacoError::NotFound(_)) => {
                return Err(LinkError::Undeliverable(format!(
                    "linked actor {} no longer exists",
                    envelope.link
                )));
            }
            Err(error) => return Err(LinkError::Transient(error)),
        };
        // Linking was allowed when it was set; the owner's rights may have changed since.
        let owner = self.access.on_behalf_of(&envelope.tenant, &envelope.owner);
        match self
            .access
            .check(&owner, &target, PermissionLevel::Execute)
            .await
        {
            Ok(()) => {}
            Err(AbacoError::Unavailable(why)) => {
                return Err(LinkError::Transient(AbacoError::Unavailable(why)));
            }
            Err(refused) => {
                return Err(LinkError::Undeliverable(format!(
                    "{} may no longer send to linked actor {}: {refused}",
                    envelope.owner, envelope.link
                )));
            }
        }
        let body = serde_json::to_vec(&envelope.body).unwrap_or_default();
        let incoming = Incoming {
            actor_id: target.id.clone(),
            body,
            content_type: "application/json".into(),
            environment: HashMap::new(),
            executor: EXECUTOR.into(),
            execution_id: Some(ids::derived_id(&format!("{}/link", envelope.id))),
            trace_context: HashMap::new(),
        };
        match self.intake.accept(incoming).await {
            Ok(accepted) => Ok(Some(accepted.execution.id)),
            Err(AbacoError::Conflict(_)) => Ok(None),
            Err(AbacoError::NotFound(_)) => Err(LinkError::Undeliverable(format!(
                "linked actor {} no longer exists",
                envelope.link
            ))),
            Err(error) => Err(LinkError::Transient(error)),
        }
    }
}
