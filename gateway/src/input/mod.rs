//! Request bodies to gRPC messages, by hand: every field in camelCase or snake_case, and every
//! refusal names the field as the caller spelled it.

mod access;

use std::collections::HashMap;

use abaco::pb;
use serde_json::{Map, Value};

pub(crate) use access::{alias, nonce, permission};

/// A refused input; the text is shown to the caller with a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InputError(pub(crate) String);

pub(super) fn fail<T>(text: impl Into<String>) -> Result<T, InputError> {
    Err(InputError(text.into()))
}

/// A body parsed as JSON, naming the parser's complaint when it is not.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, InputError> {
    serde_json::from_slice(body).map_err(|e| InputError(format!("malformed JSON: {e}")))
}

/// A body that must be one JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return fail("request body must be a JSON object");
    }
    match parse_json(body)? {
        Value::Object(object) => Ok(object),
        _ => fail("request body must be a JSON object"),
    }
}

/// Whether an actor body creates an actor or updates one (only an update knows `force`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActorMode {
    Create,
    Update,
}

/// What an actor body asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ActorInput {
    pub(crate) spec: pb::ActorSpec,
    pub(crate) force: bool,
}

/// Fields of an actor body: (camelCase, snake_case).
const ACTOR_FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("image", "image"),
    ("description", "description"),
    ("defaultEnvironment", "default_environment"),
    ("stateless", "stateless"),
    ("privileged", "privileged"),
    ("useContainerUid", "use_container_uid"),
    ("maxWorkers", "max_workers"),
    ("minWorkers", "min_workers"),
    ("memLimit", "mem_limit"),
    ("maxCpus", "max_cpus"),
    ("maxRunTime", "max_run_time"),
    ("hints", "hints"),
    ("link", "link"),
    ("webhook", "webhook"),
    ("cronSchedule", "cron_schedule"),
    ("cronOn", "cron_on"),
    ("logEx", "log_ex"),
    ("token", "token"),
    ("queue", "queue"),
    ("force", "force"),
];

/// The fields of `object` by their camelCase name, each with the key the caller wrote.
/// Unknown keys and a field given in both spellings are refused; nulls count as absent.
pub(super) fn canonical_fields<'a>(
    object: &'a Map<String, Value>,
    fields: &[(&'static str, &'static str)],
) -> Result<HashMap<&'static str, (&'a str, &'a Value)>, InputError> {
    let mut found: HashMap<&'static str, (&'a str, &'a Value)> = HashMap::new();
    for (key, value) in object {
        let Some(&(camel, _)) = fields
            .iter()
            .find(|(camel, snake)| key == camel || key == snake)
        else {
            return fail(format!("unknown field \"{key}\""));
        };
        if value.is_null() {
            continue;
        }
        if let Some((first, _)) = found.insert(camel, (key, value)) {
            return fail(format!(
                "field \"{camel}\" given twice (as \"{first}\" and \"{key}\")"
            ));
        }
    }
    Ok(found)
}

/// The body of `POST /actors` or `PUT /actors/{id}` as an [`pb::ActorSpec`].
pub(crate) fn actor(body: &[u8], mode: ActorMode) -> Result<ActorInput, InputError> {
    actor_from_object(&parse_object(body)?, mode)
}

fn actor_from_object(
    object: &Map<String, Value>,
    mode: ActorMode,
) -> Result<ActorInput, InputError> {
    let fields = canonical_fields(object, ACTOR_FIELDS)?;
    let mut input = ActorInput::default();
    let spec = &mut input.spec;
    for (camel, (key, value)) in fields {
        match camel {
            "name" => spec.name = Some(string(key, value)?),
            "image" => spec.image = Some(string(key, value)?),
            "description" => spec.description = Some(string(key, value)?),
            "defaultEnvironment" => {
                spec.default_environment = string_map(key, value)?;
                spec.has_default_environment = true;
            }
            "stateless" => spec.stateless = Some(boolean(key, value)?),
            "privileged" => spec.privileged = Some(boolean(key, value)?),
            "useContainerUid" => spec.use_container_uid = Some(boolean(key, value)?),
            "maxWorkers" => spec.max_workers = Some(count(key, value)?),
            "minWorkers" => spec.min_workers = Some(count(key, value)?),
            "memLimit" => spec.mem_limit = Some(mem_limit(key, value)?),
            "maxCpus" => spec.max_cpus = Some(nano_cpus(key, value)?),
            "maxRunTime" => spec.max_run_time = Some(count(key, value)?),
            "hints" => {
                spec.hints = strings(key, value)?;
                spec.has_hints = true;
            }
            "link" => spec.link = Some(string(key, value)?),
            "webhook" => spec.webhook = Some(string(key, value)?),
            "cronSchedule" => spec.cron_schedule = Some(string(key, value)?),
            "cronOn" => spec.cron_on = Some(boolean(key, value)?),
            "logEx" => spec.log_ex = Some(count(key, value)?),
            "token" => spec.token = Some(boolean(key, value)?),
            "queue" => spec.queue = Some(string(key, value)?),
            "force" if mode == ActorMode::Update => input.force = boolean(key, value)?,
            // `force` on create, and any name the table has but this match forgot.
            _ => return fail(format!("unknown field \"{key}\"")),
        }
    }
    Ok(input)
}

/// The body of `POST /actors/{id}/workers`: `{"num": n}`, n >= 1, default 1; may be empty.
pub(crate) fn worker_count(body: &[u8]) -> Result<u32, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(1);
    }
    let object = parse_object(body)?;
    let fields = canonical_fields(&object, &[("num", "num")])?;
    match fields.get("num") {
        None => Ok(1),
        Some((key, value)) => match count(key, value)? {
            0 => fail(format!("{key} must be a positive integer")),
            n => Ok(n),
        },
    }
}

pub(super) fn string(key: &str, value: &Value) -> Result<String, InputError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => fail(format!("{key} must be a string")),
    }
}

fn boolean(key: &str, value: &Value) -> Result<bool, InputError> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => fail(format!("{key} must be a boolean")),
    }
}

/// A non-negative integer that fits the 32-bit fields of the contract.
fn count(key: &str, value: &Value) -> Result<u32, InputError> {
    let Some(n) = value.as_u64() else {
        return fail(format!("{key} must be a non-negative integer"));
    };
    u32::try_from(n).or_else(|_| fail(format!("{key} must be at most {}", u32::MAX)))
}

fn string_map(key: &str, value: &Value) -> Result<HashMap<String, String>, InputError> {
    let Value::Object(object) = value else {
        return fail(format!("{key} must be an object of strings"));
    };
    object
        .iter()
        .map(|(name, v)| match v {
            Value::String(s) => Ok((name.clone(), s.clone())),
            _ => fail(format!("{key}: the value of \"{name}\" must be a string")),
        })
        .collect()
}

fn strings(key: &str, value: &Value) -> Result<Vec<String>, InputError> {
    let Value::Array(items) = value else {
        return fail(format!("{key} must be an array of strings"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            _ => fail(format!("{key} must be an array of strings")),
        })
        .collect()
}

/// Bytes, from an integer or a Docker-style size such as "512m" (units b, k, m, g, t; 1024-based).
fn mem_limit(key: &str, value: &Value) -> Result<u64, InputError> {
    let bad = || {
        InputError(format!(
            "{key} must be a number of bytes or a size such as \"512m\" or \"2g\""
        ))
    };
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => parse_size(s).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// "512m" -> 536870912; None when not a size or too big.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let shift = match unit {
        "" | "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        "t" | "tb" => 40,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// Nanocpus from a number of CPUs (1.5 -> 1_500_000_000), as Docker's NanoCpus wants.
fn nano_cpus(key: &str, value: &Value) -> Result<u64, InputError> {
    let bad = || InputError(format!("{key} must be a number of CPUs greater than 0"));
    let cpus = value
        .as_f64()
        .filter(|c| c.is_finite() && *c > 0.0)
        .ok_or_else(bad)?;
    let nanos = (cpus * 1e9).round();
    // The float-to-int cast saturates; checking the range first keeps it exact and honest.
    if nanos < 1.0 || nanos >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(nanos as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn create(value: Value) -> Result<ActorInput, InputError> {
        actor(value.to_string().as_bytes(), ActorMode::Create)
    }

    fn refusal(value: Value) -> String {
        match create(value) {
            Ok(input) => panic!("accepted: {input:?}"),
            Err(error) => error.0,
        }
    }

    #[test]
    fn both_spellings_fill_the_spec() {
        let camel = create(json!({
            "image": "abaco/test", "name": "n", "description": "d",
            "defaultEnvironment": {"A": "1"}, "stateless": false, "privileged": true,
            "useContainerUid": true, "maxWorkers": 3, "minWorkers": 1, "memLimit": "512m",
            "maxCpus": 1.5, "maxRunTime": 60, "hints": ["x"], "link": "l", "webhook": "w",
            "cronSchedule": "now + 1 hour", "cronOn": true, "logEx": 100, "token": false,
            "queue": "q"
        }))
        .unwrap();
        let snake = create(json!({
            "image": "abaco/test", "name": "n", "description": "d",
            "default_environment": {"A": "1"}, "stateless": false, "privileged": true,
            "use_container_uid": true, "max_workers": 3, "min_workers": 1,
            "mem_limit": 536870912, "max_cpus": 1.5, "max_run_time": 60, "hints": ["x"],
            "link": "l", "webhook": "w", "cron_schedule": "now + 1 hour", "cron_on": true,
            "log_ex": 100, "token": false, "queue": "q"
        }))
        .unwrap();
        assert_eq!(camel, snake);
        let spec = camel.spec;
        assert_eq!(spec.mem_limit, Some(512 * 1024 * 1024));
        assert_eq!(spec.max_cpus, Some(1_500_000_000));
        assert!(spec.has_default_environment && spec.has_hints);
        assert_eq!(
            spec.default_environment.get("A").map(String::as_str),
            Some("1")
        );
        assert_eq!(spec.max_workers, Some(3));
        assert_eq!(spec.cron_schedule.as_deref(), Some("now + 1 hour"));
    }

    #[test]
    fn absent_and_null_fields_stay_unset() {
        let input = create(json!({"image": "x", "maxWorkers": null, "hints": null})).unwrap();
        assert_eq!(input.spec.max_workers, None);
        assert!(!input.spec.has_hints && !input.spec.has_default_environment);
        assert_eq!(input.spec.image.as_deref(), Some("x"));
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            refusal(json!({"colour": "red"})),
            "unknown field \"colour\""
        );
        assert_eq!(refusal(json!({"force": true})), "unknown field \"force\"");
    }

    #[test]
    fn force_is_known_on_update() {
        let input = actor(br#"{"force": true}"#, ActorMode::Update).unwrap();
        assert!(input.force);
    }

    #[test]
    fn a_field_in_both_spellings_is_refused() {
        let text = refusal(json!({"maxWorkers": 1, "max_workers": 2}));
        assert!(
            text.contains("maxWorkers") && text.contains("twice"),
            "{text}"
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let cases = [
            (json!({"stateless": "yes"}), "stateless must be a boolean"),
            (
                json!({"use_container_uid": 1}),
                "use_container_uid must be a boolean",
            ),
            (json!({"image": 5}), "image must be a string"),
            (
                json!({"maxWorkers": -1}),
                "maxWorkers must be a non-negative integer",
            ),
            (
                json!({"maxWorkers": 1.5}),
                "maxWorkers must be a non-negative integer",
            ),
            (
                json!({"min_workers": "2"}),
                "min_workers must be a non-negative integer",
            ),
            (
                json!({"maxRunTime": -5}),
                "maxRunTime must be a non-negative integer",
            ),
            (
                json!({"logEx": 1.5}),
                "logEx must be a non-negative integer",
            ),
            (
                json!({"maxWorkers": 5_000_000_000u64}),
                "maxWorkers must be at most 4294967295",
            ),
            (json!({"hints": "x"}), "hints must be an array of strings"),
            (
                json!({"hints": ["x", 1]}),
                "hints must be an array of strings",
            ),
            (
                json!({"defaultEnvironment": []}),
                "defaultEnvironment must be an object of strings",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(refusal(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn environment_values_must_be_strings() {
        let text = refusal(json!({"default_environment": {"OK": "1", "N": 2}}));
        assert_eq!(
            text,
            "default_environment: the value of \"N\" must be a string"
        );
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_size("1024k"), Some(1024 * 1024));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("2GB"), Some(2 << 30));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1.5g"), None);
        assert_eq!(parse_size("m"), None);
        assert_eq!(parse_size("99999999999999999t"), None);
        assert!(refusal(json!({"memLimit": "lots"})).starts_with("memLimit must be"));
        assert!(refusal(json!({"mem_limit": -1})).starts_with("mem_limit must be"));
        assert!(refusal(json!({"memLimit": true})).starts_with("memLimit must be"));
    }

    #[test]
    fn cpus_must_be_positive_numbers() {
        for bad in [json!(0), json!(-1), json!("2"), json!(1e30), json!(1e-12)] {
            assert_eq!(
                refusal(json!({"maxCpus": bad})),
                "maxCpus must be a number of CPUs greater than 0"
            );
        }
        assert_eq!(
            create(json!({"max_cpus": 2})).unwrap().spec.max_cpus,
            Some(2_000_000_000)
        );
    }

    #[test]
    fn bodies_must_be_json_objects() {
        for body in [&b""[..], b"  ", b"[1]", b"\"x\"", b"null"] {
            assert_eq!(
                actor(body, ActorMode::Create).unwrap_err().0,
                "request body must be a JSON object"
            );
        }
        let text = actor(b"{\"image\": ", ActorMode::Create).unwrap_err().0;
        assert!(text.starts_with("malformed JSON: "), "{text}");
    }

    #[test]
    fn worker_counts() {
        assert_eq!(worker_count(b""), Ok(1));
        assert_eq!(worker_count(b"{}"), Ok(1));
        assert_eq!(worker_count(br#"{"num": 3}"#), Ok(3));
        assert_eq!(
            worker_count(br#"{"num": 0}"#).unwrap_err().0,
            "num must be a positive integer"
        );
        assert_eq!(
            worker_count(br#"{"num": -1}"#).unwrap_err().0,
            "num must be a non-negative integer"
        );
        assert_eq!(
            worker_count(br#"{"n": 1}"#).unwrap_err().0,
            "unknown field \"n\""
        );
    }
}
