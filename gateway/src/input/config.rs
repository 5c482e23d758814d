//! Bodies of `POST /actors/configs` and `PUT /actors/configs/{name}`, as JSON or as a form.

use serde_json::{Map, Value};

use super::{
    FormKind, InputError, boolean, canonical_fields, fail, form_object, parse_object, string,
};

const FIELDS: &[(&str, &str)] = &[
    ("name", "name"),
    ("value", "value"),
    ("isSecret", "is_secret"),
    ("actors", "actors"),
];

/// What a config body asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigInput {
    pub(crate) name: Option<String>,
    pub(crate) value: String,
    pub(crate) is_secret: bool,
    pub(crate) actors: String,
}

/// A config body: `value`, `isSecret` and `actors` are required (abaco's PUT replaces the
/// config whole), `name` too unless the path names it.
pub(crate) fn config(body: &[u8], form: bool) -> Result<ConfigInput, InputError> {
    let object: Map<String, Value> = if form {
        form_object(body, FIELDS, |camel| match camel {
            "isSecret" => FormKind::Bool,
            _ => FormKind::Text,
        })?
    } else {
        parse_object(body)?
    };
    let fields = canonical_fields(&object, FIELDS)?;
    let required = |camel: &str| {
        fields
            .get(camel)
            .copied()
            .ok_or_else(|| InputError(format!("field \"{camel}\" is required")))
    };
    let (key, value) = required("value")?;
    let value = match value {
        Value::String(text) => text.clone(),
        Value::Null => return fail(format!("{key} must not be null")),
        // A structure is kept as its JSON text (abaco kept Python's rendering of it).
        other => other.to_string(),
    };
    let (key, secret) = required("isSecret")?;
    let is_secret = boolean(key, secret)?;
    let (key, actors) = required("actors")?;
    let actors = match actors {
        Value::Array(items) => items
            .iter()
            .map(|item| string(key, item))
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        other => string(key, other)?,
    };
    let name = fields
        .get("name")
        .map(|(key, value)| string(key, value))
        .transpose()?;
    Ok(ConfigInput {
        name,
        value,
        is_secret,
        actors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_from_json_or_form() {
        let json = config(
            br#"{"name": "db", "value": "x", "isSecret": true, "actors": "a1,a2"}"#,
            false,
        )
        .unwrap();
        let form = config(b"name=db&value=x&is_secret=true&actors=a1%2Ca2", true).unwrap();
        assert_eq!(json, form);
        let listed = config(
            br#"{"value": {"k": 1}, "isSecret": false, "actors": ["a1", "a2"]}"#,
            false,
        )
        .unwrap();
        assert_eq!(listed.value, r#"{"k":1}"#);
        assert_eq!(listed.actors, "a1,a2");
        assert_eq!(listed.name, None);
        assert_eq!(
            config(br#"{"name": "db", "value": "x", "actors": ""}"#, false)
                .unwrap_err()
                .0,
            "field \"isSecret\" is required"
        );
    }
}
