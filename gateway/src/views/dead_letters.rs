//! Dead letters as the REST API shows them.

use abaco::pb;
use prost::Message;
use serde_json::Value;

use super::{View, links, time};

impl View {
    /// A dead letter; a text or JSON message is shown as its text, a binary one (or one that
    /// cannot be read) as null, with its size.
    pub(crate) fn dead_letter(&self, d: &pb::DeadLetter) -> Value {
        let text = pb::MailboxMessage::decode(d.message.as_slice())
            .ok()
            .filter(|m| m.content_type != "application/octet-stream")
            .and_then(|m| String::from_utf8(m.body).ok())
            .map_or(Value::Null, Value::String);
        let url = format!("{}/deadletters/{}", self.actor_url(&d.actor_id), d.id);
        self.obj()
            .put("id", d.id.as_str())
            .put("actorId", d.actor_id.as_str())
            .put("reason", d.reason.as_str())
            .put("time", time(&d.time))
            .put("contentType", d.content_type.as_str())
            .put("sender", d.sender.as_str())
            .put("size", d.size)
            .put("message", text)
            .put(
                "_links",
                links([
                    ("actor", self.actor_url(&d.actor_id)),
                    ("replay", format!("{url}/replay")),
                    ("self", url),
                ]),
            )
            .done()
    }

    pub(crate) fn dead_letters(&self, d: &pb::DeadLetters) -> Value {
        Value::Array(d.dead_letters.iter().map(|l| self.dead_letter(l)).collect())
    }

    /// The executions replayed dead letters run as.
    pub(crate) fn replayed(&self, r: &pb::ReplayedDeadLetters) -> Value {
        self.obj()
            .put("actorId", r.actor_id.as_str())
            .put("executionIds", r.execution_ids.clone())
            .put(
                "_links",
                links([(
                    "executions",
                    format!("{}/executions", self.actor_url(&r.actor_id)),
                )]),
            )
            .done()
    }
}
