//! The events and their bodies, as abaco sends them.

use abaco::{ids, pb, status, time};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The mailbox events wait in between the component that emits them and a deliverer. Its name
/// starts with `_`, which no actor id does, so it never shares a name with an actor's mailbox.
pub const OUTBOX: &str = "_abaco_events";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// The actor turned READY (its first worker of a revision is up, or it needs none).
    ActorReady,
    /// The actor turned ERROR (its image cannot be had).
    ActorError,
    /// An execution started running.
    ExecutionStarted,
    /// An execution ended, COMPLETE or ERROR (abaco sent nothing for ERROR).
    ExecutionComplete,
}

impl EventType {
    /// The name abaco gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ActorReady => "ACTOR_READY",
            Self::ActorError => "ACTOR_ERROR",
            Self::ExecutionStarted => "EXECUTION_STARTED",
            Self::ExecutionComplete => "EXECUTION_COMPLETE",
        }
    }
}

/// One event in the outbox: where it goes and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The same on every delivery of this event, and for an execution event the same each
    /// time it is emitted again: receivers drop repeats by it.
    pub id: String,
    /// What happened.
    pub event_type: EventType,
    /// The actor's tenant.
    pub tenant: String,
    /// The actor it happened to.
    pub actor_id: String,
    /// The actor's owner, on whose behalf the linked actor is sent the event.
    pub owner: String,
    /// Id of the actor that gets the event as a message, or empty.
    pub link: String,
    /// URL the event is posted to, or empty.
    pub webhook: String,
    /// The event as abaco's receivers know it.
    pub body: Map<String, Value>,
}

impl Envelope {
    /// An event about `actor` (in `tenant`) itself.
    pub fn for_actor(actor: &pb::Actor, tenant: &str, event_type: EventType) -> Self {
        let body = json!({
            "status": status::actor(actor.status()),
            "status_message": actor.status_message,
        });
        Self::new(actor, tenant, event_type, ids::new_id(), body)
    }

    /// An event about `execution` of `actor`.
    pub fn for_execution(
        actor: &pb::Actor,
        tenant: &str,
        execution: &pb::Execution,
        event_type: EventType,
    ) -> Self {
        let mut body = json!({
            "execution_id": execution.id,
            "status": status::execution(execution.status()),
            "executor": execution.executor,
        });
        if event_type == EventType::ExecutionComplete {
            // A run that never ended by itself has none: abaco's word for that.
            body["exit_code"] = execution
                .exit_code
                .map_or_else(|| json!("undetermined"), |code| json!(code));
            body["status_message"] = json!(execution.status_message);
        }
        // One event per execution and type, however often the worker has to emit it again.
        let id = ids::derived_id(&format!("{}/{}", execution.id, event_type.name()));
        Self::new(actor, tenant, event_type, id, body)
    }

    fn new(
        actor: &pb::Actor,
        tenant: &str,
        event_type: EventType,
        id: String,
        start: Value,
    ) -> Self {
        let mut body = match start {
            Value::Object(fields) => fields,
            _ => Map::new(),
        };
        let at = time::now();
        let common = [
            ("tenant_id", json!(tenant)),
            ("event_type", json!(event_type.name())),
            ("event_time_utc", json!(at)),
            ("event_time_display", json!(at)),
            ("actor_id", json!(actor.id)),
            ("actor_dbid", json!(dbid(tenant, &actor.id))),
            (
                "_abaco_link",
                json!(if actor.link.is_empty() {
                    String::new()
                } else {
                    dbid(tenant, &actor.link)
                }),
            ),
            ("_abaco_webhook", json!(actor.webhook)),
        ];
        for (name, value) in common {
            body.insert(name.into(), value);
        }
        Self {
            id,
            event_type,
            tenant: tenant.into(),
            actor_id: actor.id.clone(),
            owner: actor.owner.clone(),
            link: actor.link.clone(),
            webhook: actor.webhook.clone(),
            body,
        }
    }

    /// Whether the actor asked for its events anywhere.
    pub fn has_receivers(actor: &pb::Actor) -> bool {
        !actor.link.is_empty() || !actor.webhook.is_empty()
    }
}

/// abaco's database id of an actor, which its event bodies carry.
fn dbid(tenant: &str, actor_id: &str) -> String {
    format!("{tenant}_{actor_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> pb::Actor {
        pb::Actor {
            id: "0AbCdEfGhIjKl".into(),
            owner: "alice".into(),
            link: "1ZyXwVuTsRqPo".into(),
            webhook: "http://127.0.0.1:9/hook".into(),
            ..Default::default()
        }
    }

    #[test]
    fn execution_events_have_abacos_fields_and_a_stable_id() {
        let execution = pb::Execution {
            id: "2QwErTyUiOpAs".into(),
            status: pb::ExecutionStatus::Complete.into(),
            exit_code: Some(3),
            start_time: time::now(),
            ..Default::default()
        };
        let event =
            Envelope::for_execution(&actor(), "tacc", &execution, EventType::ExecutionComplete);
        let again =
            Envelope::for_execution(&actor(), "tacc", &execution, EventType::ExecutionComplete);
        assert_eq!(event.id, again.id);
        let body = &event.body;
        assert_eq!(body["event_type"], "EXECUTION_COMPLETE");
        assert_eq!(body["tenant_id"], "tacc");
        assert_eq!(body["actor_id"], "0AbCdEfGhIjKl");
        assert_eq!(body["actor_dbid"], "tacc_0AbCdEfGhIjKl");
        assert_eq!(body["_abaco_link"], "tacc_1ZyXwVuTsRqPo");
        assert_eq!(body["_abaco_webhook"], "http://127.0.0.1:9/hook");
        assert_eq!(body["execution_id"], "2QwErTyUiOpAs");
        assert_eq!(body["status"], "COMPLETE");
        assert_eq!(body["exit_code"], 3);
        assert_eq!(body["event_time_utc"], body["event_time_display"]);
    }

    #[test]
    fn an_execution_that_never_ran_has_no_exit_code() {
        let execution = pb::Execution {
            id: "2QwErTyUiOpAs".into(),
            status: pb::ExecutionStatus::Error.into(),
            status_message: "cancelled".into(),
            ..Default::default()
        };
        let event =
            Envelope::for_execution(&actor(), "tacc", &execution, EventType::ExecutionComplete);
        assert_eq!(event.body["exit_code"], "undetermined");
        assert_eq!(event.body["status"], "ERROR");
    }

    #[test]
    fn actor_events_are_each_their_own() {
        let a = Envelope::for_actor(&actor(), "tacc", EventType::ActorReady);
        let b = Envelope::for_actor(&actor(), "tacc", EventType::ActorReady);
        assert_ne!(a.id, b.id);
        assert_eq!(a.body["event_type"], "ACTOR_READY");
        assert!(a.body.contains_key("status_message"));
    }
}
