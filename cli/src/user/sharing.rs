//! `abaco workers`, `abaco aliases`, `abaco nonces`, `abaco permissions`.

use abaco_client::Client;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{ClientArgs, VerbError, actors::id_of, output};

/// `abaco workers`.
#[derive(Debug, Subcommand)]
pub enum WorkerVerb {
    /// An actor's workers.
    Ls {
        /// The actor's id (or alias).
        actor: String,
    },
    /// Stop one of an actor's workers (after its run in progress).
    Rm {
        /// The actor's id (or alias).
        actor: String,
        /// The worker's id.
        worker: String,
    },
}

/// `abaco aliases`.
#[derive(Debug, Subcommand)]
pub enum AliasVerb {
    /// The aliases you may read.
    Ls,
    /// Name an actor.
    Create {
        /// The name.
        alias: String,
        /// The actor it stands for.
        actor: String,
    },
    /// Remove a name (the actor stays).
    Rm {
        /// The name.
        alias: String,
    },
}

/// `abaco nonces`.
#[derive(Debug, Subcommand)]
pub enum NonceVerb {
    /// An actor's nonces.
    Ls {
        /// The actor's id (or alias).
        actor: String,
    },
    /// Make a nonce: whoever holds it may call the actor at `level`.
    Create {
        /// The actor's id (or alias).
        actor: String,
        /// READ or EXECUTE.
        #[arg(long, default_value = "EXECUTE")]
        level: String,
        /// How many calls it allows; -1 for any number.
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        max_uses: i64,
    },
    /// Revoke a nonce.
    Rm {
        /// The actor's id (or alias).
        actor: String,
        /// The nonce's id.
        nonce: String,
    },
}

/// `abaco permissions`.
#[derive(Debug, Subcommand)]
pub enum PermissionVerb {
    /// Who may do what with an actor.
    Ls {
        /// The actor's id (or alias).
        actor: String,
    },
    /// Give a user (or ABACO_WORLD, everyone) a level: READ, EXECUTE, UPDATE or NONE.
    Grant {
        /// The actor's id (or alias).
        actor: String,
        /// The user.
        user: String,
        /// The level.
        level: String,
    },
}

pub(super) async fn workers(
    client: &Client,
    args: &ClientArgs,
    verb: WorkerVerb,
) -> Result<(), VerbError> {
    match verb {
        WorkerVerb::Ls { actor } => {
            let result = client.get(&format!("/actors/{actor}/workers")).await?;
            let workers = result.as_array().cloned().unwrap_or_default();
            output::rows(
                args,
                &result,
                &workers,
                &[
                    ("id", "ID"),
                    ("status", "STATUS"),
                    ("hostId", "HOST"),
                    ("lastExecutionTime", "LAST RUN"),
                    ("cid", "CONTAINER"),
                ],
            );
        }
        WorkerVerb::Rm { actor, worker } => {
            let result = client
                .delete(&format!("/actors/{actor}/workers/{worker}"))
                .await?;
            output::said(args, &result, &format!("stopping {worker}"));
        }
    }
    Ok(())
}

pub(super) async fn aliases(
    client: &Client,
    args: &ClientArgs,
    verb: AliasVerb,
) -> Result<(), VerbError> {
    match verb {
        AliasVerb::Ls => {
            let result = client.get("/actors/aliases").await?;
            let aliases = result.as_array().cloned().unwrap_or_default();
            output::rows(
                args,
                &result,
                &aliases,
                &[("alias", "ALIAS"), ("actorId", "ACTOR"), ("owner", "OWNER")],
            );
        }
        AliasVerb::Create { alias, actor } => {
            let body = json!({"alias": alias, "actorId": actor});
            let result = client
                .send_json(Method::POST, "/actors/aliases", &body)
                .await?;
            output::said(args, &result, &alias);
        }
        AliasVerb::Rm { alias } => {
            let result = client.delete(&format!("/actors/aliases/{alias}")).await?;
            output::said(args, &result, &format!("removed {alias}"));
        }
    }
    Ok(())
}

pub(super) async fn nonces(
    client: &Client,
    args: &ClientArgs,
    verb: NonceVerb,
) -> Result<(), VerbError> {
    match verb {
        NonceVerb::Ls { actor } => {
            let result = client.get(&format!("/actors/{actor}/nonces")).await?;
            let nonces = result.as_array().cloned().unwrap_or_default();
            output::rows(
                args,
                &result,
                &nonces,
                &[
                    ("id", "ID"),
                    ("level", "LEVEL"),
                    ("maxUses", "MAX USES"),
                    ("remainingUses", "REMAINING"),
                    ("owner", "OWNER"),
                ],
            );
        }
        NonceVerb::Create {
            actor,
            level,
            max_uses,
        } => {
            let body = json!({"level": level, "maxUses": max_uses});
            let result = client
                .send_json(Method::POST, &format!("/actors/{actor}/nonces"), &body)
                .await?;
            output::said(args, &result, &id_of(&result));
        }
        NonceVerb::Rm { actor, nonce } => {
            let result = client
                .delete(&format!("/actors/{actor}/nonces/{nonce}"))
                .await?;
            output::said(args, &result, &format!("revoked {nonce}"));
        }
    }
    Ok(())
}

pub(super) async fn permissions(
    client: &Client,
    args: &ClientArgs,
    verb: PermissionVerb,
) -> Result<(), VerbError> {
    let (actor, result) = match verb {
        PermissionVerb::Ls { actor } => {
            let result = client.get(&format!("/actors/{actor}/permissions")).await?;
            (actor, result)
        }
        PermissionVerb::Grant { actor, user, level } => {
            let body = json!({"user": user, "level": level});
            let result = client
                .send_json(Method::POST, &format!("/actors/{actor}/permissions"), &body)
                .await?;
            (actor, result)
        }
    };
    // Permissions come as {user: level}: one row each.
    let rows: Vec<Value> = result
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(user, level)| json!({"user": user, "level": level}))
                .collect()
        })
        .unwrap_or_default();
    if rows.is_empty() && !args.json {
        output::said(args, &result, &format!("no permissions on {actor}"));
    } else {
        output::rows(
            args,
            &result,
            &rows,
            &[("user", "USER"), ("level", "LEVEL")],
        );
    }
    Ok(())
}
