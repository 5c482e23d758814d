//! The document against the code it describes: each view renders exactly the fields of its
//! schema, each body schema names exactly the fields the readers know, and every operation
//! says how it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use abaco::{identity::Role, pb, settings::Case};
use prost::Message;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use utoipa::PartialSchema;

use super::*;
use crate::{identity::Caller, input, views::View};

fn view() -> View {
    View::new(
        Case::Camel,
        Caller::new(
            abaco::identity::Caller::user("default", "alice", Role::Regular),
            "http://h:8000",
        ),
    )
}

/// Keys of a JSON object.
fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

/// `rendered` reads as `T` and has exactly `T`'s fields (an `Option` field too).
fn matches<T: Serialize + DeserializeOwned>(rendered: &Value) {
    let typed: T = serde_json::from_value(rendered.clone())
        .unwrap_or_else(|e| panic!("{rendered} does not fit its schema: {e}"));
    let shown = serde_json::to_value(&typed).unwrap();
    assert_eq!(keys(rendered), keys(&shown), "fields of {rendered}");
}

fn full_actor() -> pb::Actor {
    pb::Actor {
        id: "a1".into(),
        image: "abaco/test".into(),
        owner: "alice".into(),
        mem_limit: 1 << 30,
        max_cpus: 1_000_000_000,
        hints: vec!["h".into()],
        mounts: vec![pb::Mount {
            host_path: "/data".into(),
            container_path: "/in".into(),
            mode: "ro".into(),
        }],
        default_environment: [("K".to_string(), "v".to_string())].into(),
        create_time: "2026-01-01T00:00:00Z".into(),
        ..Default::default()
    }
}

fn execution() -> pb::Execution {
    pb::Execution {
        id: "e1".into(),
        actor_id: "a1".into(),
        exit_code: Some(0),
        final_state: r#"{"Status":"exited","ExitCode":0}"#.into(),
        ..Default::default()
    }
}

#[test]
fn views_render_exactly_their_schemas() {
    let v = view();
    matches::<Actor>(&v.actor(&full_actor()));
    matches::<Actor>(&v.actor(&pb::Actor::default()));
    matches::<Execution>(&v.execution(&execution()));
    matches::<Execution>(&v.execution(&pb::Execution::default()));
    matches::<ExecutionSummary>(&v.execution_summary(&pb::ExecutionSummary {
        actor_id: "a1".into(),
        executions: vec![execution()],
        ..Default::default()
    }));
    matches::<Logs>(&v.logs("a1", &pb::ExecutionLogs::default()));
    matches::<Worker>(&v.worker(&pb::Worker::default()));
    matches::<MessageCount>(&v.message_count(&pb::MessageCount::default()));
    matches::<Sent>(&v.sent(&pb::SendMessageResponse::default()));
    matches::<State>(&v.state("a1", json!({"any": ["json"]})));
    matches::<Utilization>(&v.utilization(&pb::Utilization::default()));
    matches::<Alias>(&v.alias(&pb::Alias::default()));
    matches::<Nonce>(&v.nonce(&pb::Nonce {
        actor_id: "a1".into(),
        ..Default::default()
    }));
    matches::<Nonce>(&v.nonce(&pb::Nonce {
        alias: "al".into(),
        ..Default::default()
    }));
    matches::<Config>(&v.config(&pb::ActorConfig::default()));
    matches::<DeadLetter>(
        &v.dead_letter(&pb::DeadLetter {
            message: pb::MailboxMessage {
                body: b"text".to_vec(),
                content_type: "str".into(),
                ..Default::default()
            }
            .encode_to_vec(),
            ..Default::default()
        }),
    );
    matches::<Replayed>(&v.replayed(&pb::ReplayedDeadLetters::default()));
    let _: Permissions = serde_json::from_value(v.permissions(&pb::Permissions {
        permissions: [("bob".to_string(), pb::PermissionLevel::Read as i32)].into(),
        ..Default::default()
    }))
    .unwrap();
    matches::<SearchPage>(
        &v.search_page(&pb::SearchMetadata::default(), vec![v.actor(&full_actor())]),
    );
}

/// The property names of a schema.
fn properties<T: PartialSchema>() -> Vec<String> {
    let schema = serde_json::to_value(T::schema()).unwrap();
    schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect()
}

/// A body reader, as whether it refused a body for naming a field it does not know.
type Reader = fn(&[u8]) -> bool;

/// Whether a reader refused `body` for naming a field it does not know.
fn unknown<E: std::fmt::Display>(result: Result<impl Sized, E>) -> bool {
    result.is_err_and(|e| e.to_string().contains("unknown field"))
}

#[test]
fn body_schemas_name_the_fields_the_readers_know() {
    let cases: [(&str, Vec<String>, Reader); 6] = [
        ("actor", properties::<ActorBody>(), |body| {
            unknown(input::actor(body, input::ActorMode::Update, false))
        }),
        ("workers", properties::<WorkersBody>(), |body| {
            unknown(input::worker_count(body, false))
        }),
        ("permission", properties::<PermissionBody>(), |body| {
            unknown(input::permission(body, false))
        }),
        ("alias", properties::<AliasBody>(), |body| {
            unknown(input::alias(body, false))
        }),
        ("nonce", properties::<NonceBody>(), |body| {
            unknown(input::nonce(body, false))
        }),
        ("config", properties::<ConfigBody>(), |body| {
            unknown(input::config(body, false))
        }),
    ];
    for (name, fields, refuses_unknown) in cases {
        assert!(!fields.is_empty(), "{name} has fields");
        for field in &fields {
            let body = json!({ field: Value::Null }).to_string();
            assert!(
                !refuses_unknown(body.as_bytes()),
                "the {name} reader does not know the documented field {field}"
            );
        }
        assert!(
            refuses_unknown(br#"{"surelyNotAField": 1}"#),
            "the {name} reader takes undocumented fields"
        );
    }
}

#[test]
fn every_operation_is_documented_with_its_failures() {
    let (_, api) = crate::routes::documented().split_for_parts();
    let document = serde_json::to_value(document(api, "test")).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(path.starts_with("/actors"), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            operations += 1;
            let responses = &operation["responses"];
            for status in ["200", "4XX", "5XX"] {
                assert!(
                    responses.get(status).is_some(),
                    "{method} {path} documents {status}"
                );
            }
            assert!(operation["summary"].is_string(), "{method} {path} summary");
            assert!(
                ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
                "{method} {path}: operation ids are unique"
            );
            for name in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                let declared = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path");
                assert!(declared, "{method} {path} declares {{{name}}}");
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference} points into the components' schemas"));
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{reference} resolves"
        );
    }
    // Every route of the table in `routes` (the admin, sharing and config families too).
    assert_eq!(operations, 53, "operations documented");
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let new_actor = &document["components"]["schemas"]["NewActorBody"];
    assert_eq!(new_actor["required"], json!(["image"]));
    assert!(new_actor["properties"]["maxWorkers"].is_object());
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}
