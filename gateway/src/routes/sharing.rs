//! What the sharing routes (permissions, aliases, nonces) have in common: the target a path
//! names.

use abaco::pb::{self, access_target::Target};

/// A path naming an actor by id or alias (`/actors/{actor_id}/...`).
pub(super) const ACTOR: u8 = 0;
/// A path naming an alias itself (`/actors/aliases/{alias}/...`).
pub(super) const ALIAS: u8 = 1;
/// A path naming an actor config (`/actors/configs/{name}/...`).
pub(super) const CONFIG: u8 = 2;

/// What a sharing path of kind `kind` ([`ACTOR`], [`ALIAS`] or [`CONFIG`]) names.
pub(super) fn target(kind: u8, name: String) -> pb::AccessTarget {
    pb::AccessTarget {
        target: Some(match kind {
            ALIAS => Target::Alias(name),
            CONFIG => Target::Config(name),
            _ => Target::ActorId(name),
        }),
    }
}

/// What a nonce path names: an alias itself, or an actor.
pub(super) fn nonce_target(alias: bool, name: String) -> pb::AccessTarget {
    target(if alias { ALIAS } else { ACTOR }, name)
}
