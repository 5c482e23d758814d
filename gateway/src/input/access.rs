//! Bodies of the sharing routes (permissions, aliases, nonces), as JSON objects or as form
//! fields, the way abaco's clients send them. Form values are text, so numbers may come as
//! text too.

use abaco::pb::PermissionLevel;
use serde_json::{Map, Value};

use super::{FormKind, InputError, canonical_fields, form_object, parse_object, string};

/// A body as an object: JSON, or the fields of a form (values as text); empty is `{}`.
fn object(body: &[u8], form: bool) -> Result<Map<String, Value>, InputError> {
    if form {
        return form_object(body, &[], |_| FormKind::Text);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    parse_object(body)
}

fn required<'a>(
    fields: &std::collections::HashMap<&'static str, (&'a str, &'a Value)>,
    camel: &str,
) -> Result<(&'a str, &'a Value), InputError> {
    fields
        .get(camel)
        .copied()
        .ok_or_else(|| InputError(format!("field \"{camel}\" is required")))
}

fn level(key: &str, value: &Value) -> Result<PermissionLevel, InputError> {
    let text = string(key, value)?;
    abaco_auth::levels::parse(&text).ok_or_else(|| {
        InputError(format!(
            "{key} must be one of NONE, READ, EXECUTE, UPDATE (not {text:?})"
        ))
    })
}

/// `POST .../permissions`: who, at what level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PermissionInput {
    pub(crate) user: String,
    pub(crate) level: PermissionLevel,
}

pub(crate) fn permission(body: &[u8], form: bool) -> Result<PermissionInput, InputError> {
    let object = object(body, form)?;
    let fields = canonical_fields(&object, &[("user", "user"), ("level", "level")])?;
    let (key, value) = required(&fields, "user")?;
    let user = string(key, value)?;
    let (key, value) = required(&fields, "level")?;
    Ok(PermissionInput {
        user,
        level: level(key, value)?,
    })
}

/// `POST /actors/aliases` and `PUT /actors/aliases/{alias}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasInput {
    pub(crate) alias: Option<String>,
    pub(crate) actor_id: String,
}

pub(crate) fn alias(body: &[u8], form: bool) -> Result<AliasInput, InputError> {
    let object = object(body, form)?;
    let fields = canonical_fields(&object, &[("alias", "alias"), ("actorId", "actor_id")])?;
    let alias = fields
        .get("alias")
        .map(|(key, value)| string(key, value))
        .transpose()?;
    let (key, value) = required(&fields, "actorId")?;
    Ok(AliasInput {
        alias,
        actor_id: string(key, value)?,
    })
}

/// `POST .../nonces`: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NonceInput {
    pub(crate) level: Option<PermissionLevel>,
    pub(crate) max_uses: Option<i64>,
    pub(crate) description: String,
}

pub(crate) fn nonce(body: &[u8], form: bool) -> Result<NonceInput, InputError> {
    let object = object(body, form)?;
    let fields = canonical_fields(
        &object,
        &[
            ("level", "level"),
            ("maxUses", "max_uses"),
            ("description", "description"),
        ],
    )?;
    let mut input = NonceInput::default();
    if let Some((key, value)) = fields.get("level") {
        input.level = Some(level(key, value)?);
    }
    if let Some((key, value)) = fields.get("maxUses") {
        let uses = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        input.max_uses = Some(uses.ok_or_else(|| InputError(format!("{key} must be an integer")))?);
    }
    if let Some((key, value)) = fields.get("description") {
        input.description = string(key, value)?;
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_from_json_or_form() {
        let json = permission(br#"{"user": "bob", "level": "read"}"#, false).unwrap();
        let form = permission(b"user=bob&level=READ", true).unwrap();
        assert_eq!(json, form);
        assert_eq!(json.level, PermissionLevel::Read);
        let text = permission(br#"{"user": "bob", "level": "WRITE"}"#, false)
            .unwrap_err()
            .0;
        assert!(text.contains("NONE, READ, EXECUTE, UPDATE"), "{text}");
        assert_eq!(
            permission(br#"{"level": "READ"}"#, false).unwrap_err().0,
            "field \"user\" is required"
        );
    }

    #[test]
    fn aliases_in_both_spellings() {
        let camel = alias(br#"{"alias": "a", "actorId": "0abc"}"#, false).unwrap();
        let snake = alias(b"alias=a&actor_id=0abc", true).unwrap();
        assert_eq!(camel, snake);
        assert_eq!(
            alias(br#"{"alias": "a"}"#, false).unwrap_err().0,
            "field \"actorId\" is required"
        );
    }

    #[test]
    fn nonces_default_and_parse_uses() {
        assert_eq!(nonce(b"", false).unwrap(), NonceInput::default());
        let form = nonce(b"maxUses=5&level=READ&description=d", true).unwrap();
        assert_eq!(form.max_uses, Some(5));
        assert_eq!(form.level, Some(PermissionLevel::Read));
        let json = nonce(br#"{"max_uses": -1}"#, false).unwrap();
        assert_eq!(json.max_uses, Some(-1));
        assert_eq!(
            nonce(br#"{"maxUses": "many"}"#, false).unwrap_err().0,
            "maxUses must be an integer"
        );
    }
}
