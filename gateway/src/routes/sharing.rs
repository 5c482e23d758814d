//! What the sharing routes (permissions, aliases, nonces) have in common: whether a body is a
//! form, and the target an actor or alias path names.

use abaco::pb::{self, access_target::Target};
use http::{HeaderMap, header};

/// Whether the request's body is a form (`application/x-www-form-urlencoded`).
pub(super) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

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
