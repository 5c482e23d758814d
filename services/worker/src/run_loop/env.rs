//! The environment of a run: the container contract's `_abaco_*` variables, `MSG`, and the
//! actor's default environment under the message's query parameters.

use std::collections::BTreeMap;

use abaco::pb;

/// Content type of binary messages, which travel through the FIFO instead of `MSG`.
pub const BINARY: &str = "application/octet-stream";

/// Values of a run that are not in the actor or the message.
#[derive(Debug, Clone, Copy)]
pub struct RunContext<'a> {
    /// The worker running it.
    pub worker_id: &'a str,
    /// Base URL of the API, for actors that call back.
    pub api_server: &'a str,
    /// The actor's state as JSON text.
    pub state_json: &'a str,
    /// Token for the actor to call the API with, as its owner; `None` when the actor did not
    /// ask for one or the platform has no key to sign it.
    pub access_token: Option<&'a str>,
    /// The actor's configs as one JSON object.
    pub actor_configs: &'a str,
}

/// Whether `message` is binary.
pub fn is_binary(message: &pb::MailboxMessage) -> bool {
    message.content_type == BINARY
}

/// The variables of one run, sorted by name. Contract variables are set last so that neither
/// an actor's defaults nor a caller's query parameters can fake them, and `_abaco_*` names
/// from those are dropped outright (a variable the platform leaves out, like
/// `_abaco_access_token` without a token, must stay out); names or values Docker cannot carry
/// (empty, with `=` or NUL) are dropped rather than failing the run.
pub fn build(
    actor: &pb::Actor,
    message: &pb::MailboxMessage,
    run: RunContext<'_>,
) -> Vec<(String, String)> {
    let mut env = BTreeMap::new();
    for (name, value) in actor
        .default_environment
        .iter()
        .chain(message.environment.iter())
    {
        if is_carriable(name, value) && !name.starts_with("_abaco_") {
            env.insert(name.clone(), value.clone());
        }
    }
    let content_type = if message.content_type.is_empty() {
        "str"
    } else {
        message.content_type.as_str()
    };
    let msg = if is_binary(message) {
        // The bytes are in /_abaco_binary_data; binary is not text.
        String::new()
    } else {
        String::from_utf8_lossy(&message.body).replace('\0', "")
    };
    let revision = actor.revision.to_string();
    let mut contract = vec![
        ("MSG", msg.as_str()),
        ("_abaco_actor_id", actor.id.as_str()),
        ("_abaco_actor_name", actor.name.as_str()),
        ("_abaco_actor_dbid", actor.id.as_str()),
        ("_abaco_execution_id", message.execution_id.as_str()),
        ("_abaco_worker_id", run.worker_id),
        ("_abaco_Content_Type", content_type),
        ("_abaco_username", message.sender.as_str()),
        ("_abaco_api_server", run.api_server),
        ("_abaco_actor_state", run.state_json),
        ("_abaco_container_repo", actor.image.as_str()),
        ("_abaco_actor_revision", revision.as_str()),
        ("_actor_configs", run.actor_configs),
    ];
    if let Some(token) = run.access_token {
        contract.push(("_abaco_access_token", token));
    }
    for (name, value) in contract {
        env.insert(name.to_string(), value.replace('\0', ""));
    }
    env.into_iter().collect()
}

fn is_carriable(name: &str, value: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0']) && !value.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> pb::Actor {
        pb::Actor {
            id: "0actor".into(),
            name: "echo".into(),
            image: "abaco/sample-echo".into(),
            revision: 2,
            default_environment: [
                ("A".to_string(), "from-actor".to_string()),
                ("B".to_string(), "from-actor".to_string()),
            ]
            .into(),
            ..Default::default()
        }
    }

    fn message(body: &[u8], content_type: &str) -> pb::MailboxMessage {
        pb::MailboxMessage {
            execution_id: "0exec".into(),
            actor_id: "0actor".into(),
            body: body.to_vec(),
            content_type: content_type.into(),
            environment: [
                ("B".to_string(), "from-query".to_string()),
                ("_abaco_actor_id".to_string(), "forged".to_string()),
                ("_abaco_access_token".to_string(), "forged".to_string()),
                ("BAD=NAME".to_string(), "x".to_string()),
            ]
            .into(),
            sender: "alice".into(),
            received_time: String::new(),
            trace_context: Default::default(),
        }
    }

    const RUN: RunContext<'static> = RunContext {
        worker_id: "0worker",
        api_server: "http://localhost:8000",
        state_json: "{}",
        access_token: None,
        actor_configs: r#"{"db":"x"}"#,
    };

    fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn query_parameters_override_defaults_but_not_the_contract() {
        let env = build(&actor(), &message(b"hi", ""), RUN);
        assert_eq!(get(&env, "A"), Some("from-actor"));
        assert_eq!(get(&env, "B"), Some("from-query"));
        assert_eq!(get(&env, "_abaco_actor_id"), Some("0actor"));
        assert_eq!(get(&env, "BAD=NAME"), None);
        assert_eq!(get(&env, "MSG"), Some("hi"));
        assert_eq!(get(&env, "_abaco_Content_Type"), Some("str"));
        assert_eq!(get(&env, "_abaco_username"), Some("alice"));
        assert_eq!(get(&env, "_abaco_actor_revision"), Some("2"));
        assert_eq!(get(&env, "_actor_configs"), Some(r#"{"db":"x"}"#));
        assert_eq!(get(&env, "_abaco_actor_dbid"), Some("0actor"));
        // Not made by the platform here, so not there at all, whatever the caller sent.
        assert_eq!(get(&env, "_abaco_access_token"), None);
    }

    #[test]
    fn binary_messages_leave_msg_empty_and_tokens_appear_when_made() {
        let env = build(&actor(), &message(&[0, 159, 146, 150], BINARY), RUN);
        assert_eq!(get(&env, "MSG"), Some(""));
        assert_eq!(get(&env, "_abaco_Content_Type"), Some(BINARY));
        assert_eq!(get(&env, "_abaco_access_token"), None);
        let with_token = RunContext {
            access_token: Some("jwt"),
            ..RUN
        };
        let env = build(&actor(), &message(b"m", "str"), with_token);
        assert_eq!(get(&env, "_abaco_access_token"), Some("jwt"));
    }

    #[test]
    fn nul_bytes_in_text_messages_do_not_break_the_run() {
        let env = build(&actor(), &message(b"a\0b", "str"), RUN);
        assert_eq!(get(&env, "MSG"), Some("ab"));
    }
}
