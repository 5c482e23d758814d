//! `abaco actors ls|create|get|update|rm`.

use abaco_client::Client;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{ClientArgs, VerbError, output};

/// What to do with actors.
#[derive(Debug, Subcommand)]
pub enum ActorVerb {
    /// The actors you may read.
    Ls,
    /// Register an actor.
    Create(ActorFields),
    /// One actor.
    Get {
        /// Its id (or alias).
        actor: String,
    },
    /// Change some of an actor's fields (the others stay).
    Update {
        /// Its id (or alias).
        actor: String,
        #[command(flatten)]
        fields: ActorFields,
    },
    /// Delete an actor, its executions and its workers.
    Rm {
        /// Its id (or alias).
        actor: String,
    },
}

/// An actor's fields as flags; `--body` gives any of abaco's fields as JSON, the flags win.
#[derive(Debug, Args)]
pub struct ActorFields {
    /// Docker image of its runs.
    #[arg(long)]
    image: Option<String>,
    /// A name of its own.
    #[arg(long)]
    name: Option<String>,
    /// What it does.
    #[arg(long)]
    description: Option<String>,
    /// An environment variable of every run, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Runs may happen at once on several workers (no state kept between them).
    #[arg(long)]
    stateless: Option<bool>,
    /// Fewest workers it keeps.
    #[arg(long)]
    min_workers: Option<u32>,
    /// Most workers it may have.
    #[arg(long)]
    max_workers: Option<u32>,
    /// Cron schedule, abaco's form (e.g. `now + 1 hour`).
    #[arg(long)]
    cron_schedule: Option<String>,
    /// Tries of a run again, at most, when it could not be carried out or exited with one of
    /// --retry-exit-code.
    #[arg(long)]
    max_retries: Option<u32>,
    /// An exit code that makes a run worth trying again (repeatable).
    #[arg(long = "retry-exit-code", value_name = "CODE")]
    retry_exit_codes: Vec<i64>,
    /// Other fields as a JSON object, e.g. '{"hints": ["gpu"]}'.
    #[arg(long, value_name = "JSON")]
    body: Option<String>,
}

impl ActorFields {
    /// The request body these flags make.
    fn body(&self) -> Result<Value, VerbError> {
        let mut body = match &self.body {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(object)) => object,
                Ok(_) => return Err(VerbError::Usage("--body must be a JSON object".into())),
                Err(error) => return Err(VerbError::Usage(format!("--body: {error}"))),
            },
            None => Map::new(),
        };
        let mut set = |field: &str, value: Value| {
            body.insert(field.to_string(), value);
        };
        if let Some(image) = &self.image {
            set("image", json!(image));
        }
        if let Some(name) = &self.name {
            set("name", json!(name));
        }
        if let Some(description) = &self.description {
            set("description", json!(description));
        }
        if !self.env.is_empty() {
            let mut env = Map::new();
            for pair in &self.env {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(VerbError::Usage(format!(
                        "--env {pair:?}: expected NAME=VALUE"
                    )));
                };
                env.insert(name.to_string(), json!(value));
            }
            set("defaultEnvironment", Value::Object(env));
        }
        if let Some(stateless) = self.stateless {
            set("stateless", json!(stateless));
        }
        if let Some(min) = self.min_workers {
            set("minWorkers", json!(min));
        }
        if let Some(max) = self.max_workers {
            set("maxWorkers", json!(max));
        }
        if let Some(schedule) = &self.cron_schedule {
            set("cronSchedule", json!(schedule));
            set("cronOn", json!(true));
        }
        if let Some(retries) = self.max_retries {
            set("maxRetries", json!(retries));
        }
        if !self.retry_exit_codes.is_empty() {
            set("retryExitCodes", json!(self.retry_exit_codes));
        }
        Ok(Value::Object(body))
    }
}

/// The fields `actors get` shows.
const SHOWN: &[&str] = &[
    "id",
    "name",
    "image",
    "status",
    "statusMessage",
    "owner",
    "stateless",
    "minWorkers",
    "maxWorkers",
    "defaultEnvironment",
    "cronSchedule",
    "cronNextEx",
    "maxRetries",
    "retryExitCodes",
    "createTime",
    "lastUpdateTime",
];

pub(super) async fn run(
    client: &Client,
    args: &ClientArgs,
    verb: ActorVerb,
) -> Result<(), VerbError> {
    match verb {
        ActorVerb::Ls => {
            let result = client.get("/actors").await?;
            let actors = result.as_array().cloned().unwrap_or_default();
            output::rows(
                args,
                &result,
                &actors,
                &[
                    ("id", "ID"),
                    ("name", "NAME"),
                    ("image", "IMAGE"),
                    ("status", "STATUS"),
                    ("owner", "OWNER"),
                ],
            );
        }
        ActorVerb::Create(fields) => {
            let body = fields.body()?;
            if body.get("image").is_none() {
                return Err(VerbError::Usage("an actor needs --image".into()));
            }
            let result = client.send_json(Method::POST, "/actors", &body).await?;
            output::said(args, &result, &id_of(&result));
        }
        ActorVerb::Get { actor } => {
            let result = client.get(&format!("/actors/{actor}")).await?;
            output::record(args, &result, SHOWN);
        }
        ActorVerb::Update { actor, fields } => {
            let body = fields.body()?;
            if body.as_object().is_some_and(Map::is_empty) {
                return Err(VerbError::Usage("nothing to change: give a field".into()));
            }
            let result = client
                .send_json(Method::PATCH, &format!("/actors/{actor}"), &body)
                .await?;
            output::record(args, &result, SHOWN);
        }
        ActorVerb::Rm { actor } => {
            let result = client.delete(&format!("/actors/{actor}")).await?;
            output::said(args, &result, &format!("deleted {actor}"));
        }
    }
    Ok(())
}

/// The `id` of a created record.
pub(super) fn id_of(result: &Value) -> String {
    result
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
