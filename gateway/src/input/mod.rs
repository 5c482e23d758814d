//! Request bodies to gRPC messages, by hand: every field in camelCase or snake_case, and every
//! refusal names the field as the caller spelled it.

mod access;
mod actor;
mod config;

use std::collections::HashMap;

use serde_json::{Map, Value};

pub(crate) use access::{alias, nonce, permission};
pub(crate) use actor::{ActorMode, actor, worker_count};
pub(crate) use config::config;

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

/// What a form field's text stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormKind {
    /// Text as it is.
    Text,
    /// `true`/`false` (any case), `1`/`0`.
    Bool,
    /// A number.
    Number,
    /// JSON (an object or list).
    Json,
}

/// The fields of a form body (`application/x-www-form-urlencoded`) as one JSON object, each
/// value read as `kind` says for the field (known by either spelling in `fields`).
pub(crate) fn form_object(
    body: &[u8],
    fields: &[(&'static str, &'static str)],
    kind: fn(&str) -> FormKind,
) -> Result<Map<String, Value>, InputError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| InputError(format!("malformed form body: {e}")))?;
    let mut object = Map::new();
    for (name, text) in pairs {
        let camel = fields
            .iter()
            .find(|(camel, snake)| name == *camel || name == *snake)
            .map_or("", |(camel, _)| *camel);
        let value = match kind(camel) {
            FormKind::Text => Value::String(text),
            FormKind::Bool => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return fail(format!("{name} must be true or false")),
            },
            FormKind::Number => serde_json::from_str::<serde_json::Number>(text.trim())
                .map(Value::Number)
                .map_err(|_| InputError(format!("{name} must be a number")))?,
            FormKind::Json => serde_json::from_str(&text)
                .map_err(|e| InputError(format!("{name} must be JSON: {e}")))?,
        };
        if object.insert(name.clone(), value).is_some() {
            return fail(format!("field \"{name}\" given twice"));
        }
    }
    Ok(object)
}

/// Whether a request's body is a form (`application/x-www-form-urlencoded`).
pub(crate) fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

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

pub(super) fn string(key: &str, value: &Value) -> Result<String, InputError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        _ => fail(format!("{key} must be a string")),
    }
}

pub(super) fn boolean(key: &str, value: &Value) -> Result<bool, InputError> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => fail(format!("{key} must be a boolean")),
    }
}

/// A non-negative integer that fits the 32-bit fields of the contract.
pub(super) fn count(key: &str, value: &Value) -> Result<u32, InputError> {
    let Some(n) = value.as_u64() else {
        return fail(format!("{key} must be a non-negative integer"));
    };
    u32::try_from(n).or_else(|_| fail(format!("{key} must be at most {}", u32::MAX)))
}

pub(super) fn string_map(key: &str, value: &Value) -> Result<HashMap<String, String>, InputError> {
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

pub(super) fn strings(key: &str, value: &Value) -> Result<Vec<String>, InputError> {
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
