//! Actor bodies (`POST /actors`, `PUT`/`PATCH /actors/{id}`) and worker counts, as JSON or as
//! forms, every field in camelCase or snake_case, and every refusal naming the field as the
//! caller spelled it.

use abaco::{limits::NO_LIMIT, pb};
use serde_json::{Map, Value};

use super::{
    FormKind, InputError, boolean, canonical_fields, count, fail, form_object, parse_object,
    string, string_map, strings,
};

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
    ("cronNextEx", "cron_next_ex"),
    ("logEx", "log_ex"),
    ("token", "token"),
    ("queue", "queue"),
    ("type", "type"),
    ("runAsExecutor", "run_as_executor"),
    ("mounts", "mounts"),
    ("maxRetries", "max_retries"),
    ("retryExitCodes", "retry_exit_codes"),
    ("force", "force"),
];

/// How the text of a form field is read, by the field's camelCase name: forms carry only
/// text, so booleans, numbers and structures come as their JSON spelling.
fn actor_form_kind(camel: &str) -> FormKind {
    match camel {
        "stateless" | "privileged" | "useContainerUid" | "cronOn" | "token" | "runAsExecutor"
        | "force" => FormKind::Bool,
        "maxWorkers" | "minWorkers" | "maxCpus" | "maxRunTime" | "logEx" | "num" | "maxRetries" => {
            FormKind::Number
        }
        "defaultEnvironment" | "hints" | "mounts" | "retryExitCodes" => FormKind::Json,
        _ => FormKind::Text,
    }
}

/// The body of `POST /actors` or `PUT /actors/{id}` (JSON, or a form when `form`) as an
/// [`pb::ActorSpec`].
pub(crate) fn actor(body: &[u8], mode: ActorMode, form: bool) -> Result<ActorInput, InputError> {
    let object = if form {
        form_object(body, ACTOR_FIELDS, actor_form_kind)?
    } else {
        parse_object(body)?
    };
    actor_from_object(&object, mode)
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
            // abaco documents it as a field, but the scheduler owns it: a value sent (say, by
            // a client putting back an actor it read) is not taken.
            "cronNextEx" => {}
            "logEx" => spec.log_ex = Some(count(key, value)?),
            "token" => spec.token = Some(boolean(key, value)?),
            "queue" => spec.queue = Some(string(key, value)?),
            "type" => spec.r#type = Some(string(key, value)?),
            "runAsExecutor" => spec.run_as_executor = Some(boolean(key, value)?),
            "mounts" => {
                spec.mounts = mounts(key, value)?;
                spec.has_mounts = true;
            }
            "maxRetries" => spec.max_retries = Some(count(key, value)?),
            "retryExitCodes" => {
                spec.retry_exit_codes = exit_codes(key, value)?;
                spec.has_retry_exit_codes = true;
            }
            "force" if mode == ActorMode::Update => input.force = boolean(key, value)?,
            // `force` on create, and any name the table has but this match forgot.
            _ => return fail(format!("unknown field \"{key}\"")),
        }
    }
    Ok(input)
}

/// A list of exit codes.
fn exit_codes(key: &str, value: &Value) -> Result<Vec<i64>, InputError> {
    let Value::Array(items) = value else {
        return fail(format!("{key} must be a list of exit codes"));
    };
    items
        .iter()
        .map(|item| {
            item.as_i64()
                .ok_or_else(|| InputError(format!("{key} must be a list of exit codes")))
        })
        .collect()
}

/// The body of `POST /actors/{id}/workers`: `{"num": n}` (or the form `num=n`), n >= 1,
/// default 1; may be empty.
pub(crate) fn worker_count(body: &[u8], form: bool) -> Result<u32, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(1);
    }
    let object = if form {
        form_object(body, &[("num", "num")], actor_form_kind)?
    } else {
        parse_object(body)?
    };
    let fields = canonical_fields(&object, &[("num", "num")])?;
    match fields.get("num") {
        None => Ok(1),
        Some((key, value)) => match count(key, value)? {
            0 => fail(format!("{key} must be a positive integer")),
            n => Ok(n),
        },
    }
}

/// Bytes, from an integer or a Docker-style size such as "512m" (units b, k, m, g, t;
/// 1024-based); -1 (or "-1") for no limit, as in abaco.
fn mem_limit(key: &str, value: &Value) -> Result<u64, InputError> {
    let bad = || {
        InputError(format!(
            "{key} must be a number of bytes, a size such as \"512m\" or \"2g\", or -1 for no limit"
        ))
    };
    match value {
        Value::Number(n) if n.as_i64() == Some(-1) => Ok(NO_LIMIT),
        Value::Number(n) => n.as_u64().filter(|v| *v != NO_LIMIT).ok_or_else(bad),
        Value::String(s) if s.trim() == "-1" => Ok(NO_LIMIT),
        Value::String(s) => parse_size(s).filter(|v| *v != NO_LIMIT).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Administrators' mounts: a list of `{hostPath, containerPath, mode}` (either spelling).
fn mounts(key: &str, value: &Value) -> Result<Vec<pb::Mount>, InputError> {
    let Value::Array(items) = value else {
        return fail(format!("{key} must be a list of mounts"));
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(object) = item else {
                return fail(format!("{key} must be a list of mounts"));
            };
            let fields = canonical_fields(
                object,
                &[
                    ("hostPath", "host_path"),
                    ("containerPath", "container_path"),
                    ("mode", "mode"),
                ],
            )?;
            let text = |camel: &str| -> Result<String, InputError> {
                match fields.get(camel) {
                    Some((key, value)) => string(key, value),
                    None => fail(format!("each of {key} needs {camel}")),
                }
            };
            Ok(pb::Mount {
                host_path: text("hostPath")?,
                container_path: text("containerPath")?,
                mode: fields
                    .get("mode")
                    .map(|(key, value)| string(key, value))
                    .transpose()?
                    .unwrap_or_else(|| "ro".into()),
            })
        })
        .collect()
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

/// abaco's `maxCpus`: a whole number of nanoCPUs (1 CPU = 1,000,000,000), or -1 for no
/// limit.
fn nano_cpus(key: &str, value: &Value) -> Result<u64, InputError> {
    match value.as_i64() {
        Some(-1) => Ok(NO_LIMIT),
        Some(nanos) if nanos > 0 => Ok(nanos.unsigned_abs()),
        _ => fail(format!(
            "{key} must be a whole number of nanoCPUs greater than 0 (1 CPU = 1000000000), or -1 for no limit"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn create(value: Value) -> Result<ActorInput, InputError> {
        actor(value.to_string().as_bytes(), ActorMode::Create, false)
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
            "maxCpus": 1500000000, "maxRunTime": 60, "hints": ["x"], "link": "l", "webhook": "w",
            "cronSchedule": "now + 1 hour", "cronOn": true, "logEx": 100, "token": false,
            "queue": "q"
        }))
        .unwrap();
        let snake = create(json!({
            "image": "abaco/test", "name": "n", "description": "d",
            "default_environment": {"A": "1"}, "stateless": false, "privileged": true,
            "use_container_uid": true, "max_workers": 3, "min_workers": 1,
            "mem_limit": 536870912, "max_cpus": 1500000000, "max_run_time": 60, "hints": ["x"],
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
        let input = actor(br#"{"force": true}"#, ActorMode::Update, false).unwrap();
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
        assert!(refusal(json!({"mem_limit": -2})).starts_with("mem_limit must be"));
        assert!(refusal(json!({"memLimit": true})).starts_with("memLimit must be"));
        // abaco's -1: no limit.
        assert_eq!(
            create(json!({"memLimit": -1})).unwrap().spec.mem_limit,
            Some(NO_LIMIT)
        );
        assert_eq!(
            create(json!({"memLimit": "-1"})).unwrap().spec.mem_limit,
            Some(NO_LIMIT)
        );
    }

    #[test]
    fn cpus_are_nanocpus_as_in_abaco() {
        for bad in [json!(0), json!(-2), json!("2"), json!(1.5), json!(true)] {
            assert!(
                refusal(json!({"maxCpus": bad}))
                    .starts_with("maxCpus must be a whole number of nanoCPUs"),
                "{bad}"
            );
        }
        assert_eq!(
            create(json!({"max_cpus": 2_000_000_000u64}))
                .unwrap()
                .spec
                .max_cpus,
            Some(2_000_000_000)
        );
        assert_eq!(
            create(json!({"maxCpus": -1})).unwrap().spec.max_cpus,
            Some(NO_LIMIT)
        );
    }

    #[test]
    fn forms_carry_every_kind_of_field() {
        let body = b"image=abaco%2Fx&maxWorkers=3&stateless=false&defaultEnvironment=%7B%22A%22%3A%221%22%7D&hints=%5B%22h%22%5D&memLimit=512m&type=function";
        let input = actor(body, ActorMode::Create, true).unwrap();
        let spec = input.spec;
        assert_eq!(spec.image.as_deref(), Some("abaco/x"));
        assert_eq!(spec.max_workers, Some(3));
        assert_eq!(spec.stateless, Some(false));
        assert_eq!(
            spec.default_environment.get("A").map(String::as_str),
            Some("1")
        );
        assert_eq!(spec.hints, vec!["h".to_string()]);
        assert_eq!(spec.mem_limit, Some(512 << 20));
        assert_eq!(spec.r#type.as_deref(), Some("function"));
        assert_eq!(
            actor(b"image=x&stateless=maybe", ActorMode::Create, true)
                .unwrap_err()
                .0,
            "stateless must be true or false"
        );
        assert_eq!(worker_count(b"num=2", true), Ok(2));
    }

    #[test]
    fn mounts_are_read_in_both_spellings() {
        let input = create(json!({"mounts": [
            {"hostPath": "/a", "containerPath": "/b", "mode": "rw"},
            {"host_path": "/c", "container_path": "/d"}
        ]}))
        .unwrap();
        assert!(input.spec.has_mounts);
        assert_eq!(input.spec.mounts[1].mode, "ro");
        assert!(refusal(json!({"mounts": [{"hostPath": "/a"}]})).contains("containerPath"));
    }

    #[test]
    fn bodies_must_be_json_objects() {
        for body in [&b""[..], b"  ", b"[1]", b"\"x\"", b"null"] {
            assert_eq!(
                actor(body, ActorMode::Create, false).unwrap_err().0,
                "request body must be a JSON object"
            );
        }
        let text = actor(b"{\"image\": ", ActorMode::Create, false)
            .unwrap_err()
            .0;
        assert!(text.starts_with("malformed JSON: "), "{text}");
    }

    #[test]
    fn worker_counts() {
        assert_eq!(worker_count(b"", false), Ok(1));
        assert_eq!(worker_count(b"{}", false), Ok(1));
        assert_eq!(worker_count(br#"{"num": 3}"#, false), Ok(3));
        assert_eq!(
            worker_count(br#"{"num": 0}"#, false).unwrap_err().0,
            "num must be a positive integer"
        );
        assert_eq!(
            worker_count(br#"{"num": -1}"#, false).unwrap_err().0,
            "num must be a non-negative integer"
        );
        assert_eq!(
            worker_count(br#"{"n": 1}"#, false).unwrap_err().0,
            "unknown field \"n\""
        );
    }
}
