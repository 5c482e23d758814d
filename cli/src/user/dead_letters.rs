//! `abaco deadletters ls|replay|rm`: messages a worker put aside instead of running.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use abaco_client::Client;

use super::{ClientArgs, VerbError, output};

/// `abaco deadletters`.
#[derive(Debug, Subcommand)]
pub enum DeadLetterVerb {
    /// An actor's dead letters, oldest first, with why each was put aside.
    Ls {
        /// The actor's id (or alias).
        actor: String,
    },
    /// Send dead letters again under their own execution ids (all, or the one named).
    Replay {
        /// The actor's id (or alias).
        actor: String,
        /// The dead letter's id; all of the actor's when left out.
        id: Option<String>,
    },
    /// Forget a dead letter without sending it.
    Rm {
        /// The actor's id (or alias).
        actor: String,
        /// The dead letter's id.
        id: String,
    },
}

pub(super) async fn run(
    client: &Client,
    args: &ClientArgs,
    verb: DeadLetterVerb,
) -> Result<(), VerbError> {
    let columns = [
        ("id", "ID"),
        ("time", "PUT ASIDE"),
        ("sender", "SENDER"),
        ("size", "BYTES"),
        ("reason", "REASON"),
    ];
    match verb {
        DeadLetterVerb::Ls { actor } => {
            let result = client.get(&format!("/actors/{actor}/deadletters")).await?;
            let letters = result.as_array().cloned().unwrap_or_default();
            output::rows(args, &result, &letters, &columns);
        }
        DeadLetterVerb::Replay { actor, id } => {
            let path = match &id {
                Some(id) => format!("/actors/{actor}/deadletters/{id}/replay"),
                None => format!("/actors/{actor}/deadletters/replay"),
            };
            let result = client.send_json(Method::POST, &path, &json!({})).await?;
            let ids: Vec<&str> = result["executionIds"]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            output::said(args, &result, &format!("sent again: {}", ids.join(" ")));
        }
        DeadLetterVerb::Rm { actor, id } => {
            let result = client
                .delete(&format!("/actors/{actor}/deadletters/{id}"))
                .await?;
            output::said(args, &result, &format!("forgot {id}"));
        }
    }
    Ok(())
}
