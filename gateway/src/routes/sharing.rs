//! What the sharing routes (permissions, aliases, nonces) have in common: whether a body is a
//! form, and the target an actor or alias path names.

use abaco::pb::{self, access_target::Target};

/// What a sharing path names: an alias itself (`/actors/aliases/{alias}/...`, `alias`), or an
/// actor by id or alias (`/actors/{actor_id}/...`).
pub(super) fn target(alias: bool, name: String) -> pb::AccessTarget {
    pb::AccessTarget {
        target: Some(if alias {
            Target::Alias(name)
        } else {
            Target::ActorId(name)
        }),
    }
}
