//! The shapes of request bodies, for the OpenAPI document. The gateway reads bodies by hand
//! (`crate::input`: either spelling of a field, forms as well as JSON, the caller's spelling
//! in every refusal); the tests at the end check that each schema here names exactly the
//! fields that reader knows.
//!
//! Every body may also be sent as a form (`application/x-www-form-urlencoded`), and every
//! field in snake_case; the document shows JSON in camelCase.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{RefOr, schema::Schema},
};

/// The fields of an actor: the changes to one (`PATCH`), or, with `image`, a whole actor
/// ([`NewActorBody`]).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ActorBody {
    #[schema(example = "echo")]
    name: Option<String>,
    /// A Docker image reference; pulled when the engine lacks it or it is new to the actor.
    #[schema(example = "abaco/sample-echo")]
    image: Option<String>,
    description: Option<String>,
    /// Environment variable names; not `MSG` nor starting with `_abaco_`, which the platform
    /// sets.
    #[schema(example = json!({"GREETING": "hello"}))]
    default_environment: Option<BTreeMap<String, String>>,
    /// Stateless actors (the default) may have many workers; stateful ones one.
    stateless: Option<bool>,
    /// Administrators and privileged users only.
    privileged: Option<bool>,
    /// Run as the image's own user. Administrators and privileged users only.
    use_container_uid: Option<bool>,
    /// Administrators and privileged users only.
    max_workers: Option<u32>,
    min_workers: Option<u32>,
    /// Bytes, or a size such as `512m`; -1 for no limit. Administrators and privileged users
    /// only.
    #[schema(value_type = Option<Value>)]
    mem_limit: Option<Value>,
    /// Nano-CPUs; -1 for no limit. Administrators and privileged users only.
    max_cpus: Option<i64>,
    max_run_time: Option<u32>,
    /// Free-form labels; `hot` makes a hot actor: one container per worker takes message
    /// after message (README "Hot actors").
    hints: Option<Vec<String>>,
    /// An actor (id or alias) to send this one's events to.
    link: Option<String>,
    /// A URL to POST this one's events to.
    #[schema(pattern = "^https?://")]
    webhook: Option<String>,
    /// `YYYY-MM-DD hh + <n> <unit>` as in abaco, or a cron expression.
    cron_schedule: Option<String>,
    cron_on: Option<bool>,
    /// Accepted and ignored: the platform computes it.
    cron_next_ex: Option<String>,
    log_ex: Option<u32>,
    token: Option<bool>,
    /// The spawners' queue. Administrators and privileged users only.
    queue: Option<String>,
    /// `none` (the default), `function`, `bin` or `json`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(none|function|bin|json)?$")]
    kind: Option<String>,
    run_as_executor: Option<bool>,
    /// Administrators only.
    #[schema(example = json!([]))]
    mounts: Option<Vec<super::results::Mount>>,
    /// Tries of a message run again, at most (the platform's `max_retries`), when a run could
    /// not be carried out or exited with one of `retryExitCodes`; each try is recorded.
    max_retries: Option<u32>,
    /// Exit codes that make a run worth trying again.
    retry_exit_codes: Option<Vec<i64>>,
    /// On an update: restart the workers even if the image did not change (and pull it).
    force: Option<bool>,
}

/// A whole actor, to register (`POST /actors`) or to replace one (`PUT`): the fields of
/// [`ActorBody`], `image` required; fields left out of a PUT take their defaults.
pub(crate) struct NewActorBody;

impl PartialSchema for NewActorBody {
    fn schema() -> RefOr<Schema> {
        // ActorBody's object itself, not an `allOf` over it: schema tools handle a plain
        // object better (schemathesis's coverage phase tripped on the composition).
        let mut schema = ActorBody::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required.push("image".into());
            object.description = Some(
                "A whole actor: `image` required; fields left out of a PUT take their defaults."
                    .into(),
            );
        }
        schema
    }
}

impl ToSchema for NewActorBody {}

/// `POST /actors/{actor_id}/workers`: how many workers the actor should have at least.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkersBody {
    /// At least 1; 1 when left out.
    num: Option<u32>,
}

/// A user's level on an actor, alias or config.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionBody {
    user: String,
    /// NONE removes the user's permission. Any case is read.
    level: Level,
}

/// A permission level, each including the ones before it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Level {
    None,
    Read,
    Execute,
    Update,
}

/// What a nonce lets its holder do.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum NonceLevel {
    Read,
    Execute,
}

/// An alias to create, or the actor an alias names.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AliasBody {
    /// Required on create; on PUT the path names it.
    alias: Option<String>,
    actor_id: String,
}

/// A nonce to create; every field is optional.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NonceBody {
    /// EXECUTE when left out. Any case is read.
    level: Option<NonceLevel>,
    /// -1 (the default) for unlimited.
    max_uses: Option<i64>,
    description: Option<String>,
}

/// An actor config: its value given to the named actors' runs.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfigBody {
    /// Required on create; on PUT the path names it.
    name: Option<String>,
    /// Text; a JSON structure is kept as its JSON text.
    #[schema(value_type = Value)]
    value: Value,
    is_secret: bool,
    /// Actor ids and aliases: a comma-separated string or a list.
    #[schema(value_type = Value)]
    actors: Value,
}
