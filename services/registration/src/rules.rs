//! Who may set what on an actor: the fields only administrators and privileged users may set
//! (as abaco has them), those only administrators may set, the code of actors whose runs
//! carry their owner's powers, and abaco's fields this platform cannot honour.

use abaco::{AbacoError, Result, identity::Caller, pb};

/// Whether two records differ in one field.
type Differs = fn(&pb::Actor, &pb::Actor) -> bool;

/// Fields only admins and privileged users may set, as abaco has them: (camelCase name, how
/// it differs between two records).
const RESTRICTED: &[(&str, Differs)] = &[
    ("privileged", |a, b| a.privileged != b.privileged),
    ("maxWorkers", |a, b| a.max_workers != b.max_workers),
    ("maxCpus", |a, b| a.max_cpus != b.max_cpus),
    ("memLimit", |a, b| a.mem_limit != b.mem_limit),
    ("queue", |a, b| a.queue != b.queue),
    ("useContainerUid", |a, b| {
        a.use_container_uid != b.use_container_uid
    }),
];

/// A spec without the restricted fields: what a regular user's request would make.
pub fn unrestricted(spec: &pb::ActorSpec) -> pb::ActorSpec {
    pb::ActorSpec {
        privileged: None,
        max_workers: None,
        max_cpus: None,
        mem_limit: None,
        queue: None,
        use_container_uid: None,
        mounts: Vec::new(),
        has_mounts: false,
        ..spec.clone()
    }
}

/// Fields only administrators may set (they reach the host): `mounts`.
pub fn check_admin_fields(
    baseline: &pb::Actor,
    proposed: &pb::Actor,
    caller: &Caller,
) -> Result<()> {
    if caller.is_admin() || baseline.mounts == proposed.mounts {
        return Ok(());
    }
    Err(AbacoError::Forbidden(
        "only administrators may set mounts".into(),
    ))
}

/// Refuses what abaco's fields ask for that this platform cannot do, before anything is
/// stored: `runAsExecutor` needs a user database (to find the sender's uid), and there is none.
pub fn check_unsupported(spec: &pb::ActorSpec) -> Result<()> {
    if spec.run_as_executor == Some(true) {
        return Err(AbacoError::invalid(
            "runAsExecutor is not supported: it runs as the sender's uid, which needs a user database this platform does not have (run_user and useContainerUid choose the user instead)",
        ));
    }
    Ok(())
}

/// Refuses a caller who is neither admin nor privileged when `proposed` differs from
/// `baseline` (the record the same request would make without the restricted fields) in a
/// restricted field; names the field. Setting a field to the value it would have anyway is
/// allowed, so an actor read and written back unchanged is never refused.
pub fn check_restricted(baseline: &pb::Actor, proposed: &pb::Actor, caller: &Caller) -> Result<()> {
    if caller.is_privileged() {
        return Ok(());
    }
    match RESTRICTED
        .iter()
        .find(|(_, differs)| differs(baseline, proposed))
    {
        Some((field, _)) => Err(AbacoError::Forbidden(format!(
            "only admins and privileged users may set {field}"
        ))),
        None => Ok(()),
    }
}

/// Refuses anyone but the owner or an administrator (and any call made with a nonce)
/// changing what runs, or as whom, for an actor whose runs carry the owner's powers: one with
/// `token: true` (its runs get a token of the owner) or `privileged` (its runs hold the host).
/// Otherwise anyone the owner shared UPDATE with could swap in code that borrows them.
pub fn check_trusted_code(
    current: &pb::Actor,
    proposed: &pb::Actor,
    caller: &Caller,
) -> Result<()> {
    let trusted = current.token || current.privileged || proposed.token || proposed.privileged;
    let owner_or_admin = !caller.via_nonce() && (caller.user == current.owner || caller.is_admin());
    if !trusted || owner_or_admin {
        return Ok(());
    }
    let changed = [
        ("image", current.image != proposed.image),
        ("token", current.token != proposed.token),
        (
            "defaultEnvironment",
            current.default_environment != proposed.default_environment,
        ),
        (
            "useContainerUid",
            current.use_container_uid != proposed.use_container_uid,
        ),
        ("privileged", current.privileged != proposed.privileged),
    ];
    match changed.iter().find(|(_, differs)| *differs) {
        Some((field, _)) => Err(AbacoError::Forbidden(format!(
            "only the owner or an administrator may change {field} of an actor whose runs carry the owner's token or privileges"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use abaco::ids;

    use super::*;
    use crate::spec::{Limits, Owner, new_actor};

    fn spec(image: &str) -> pb::ActorSpec {
        pb::ActorSpec {
            image: Some(image.into()),
            ..Default::default()
        }
    }

    fn built(spec: &pb::ActorSpec) -> pb::Actor {
        let owner = Owner {
            tenant: "default",
            user: "alice",
        };
        let mut actor = new_actor(spec, &owner, &Limits::default(), "2026-01-01T00:00:00.000Z");
        assert!(ids::looks_like_id(&actor.id));
        actor.id = "0fixed".into();
        actor
    }

    #[test]
    fn restricted_fields_are_for_admins_and_privileged_users() {
        use abaco::identity::Role;
        let regular = Caller::user("default", "alice", Role::Regular);
        let privileged = Caller::user("default", "alice", Role::Privileged);
        for spec in [
            pb::ActorSpec {
                privileged: Some(true),
                ..spec("a")
            },
            pb::ActorSpec {
                max_workers: Some(3),
                ..spec("a")
            },
            pb::ActorSpec {
                mem_limit: Some(1 << 30),
                ..spec("a")
            },
            pb::ActorSpec {
                queue: Some("gpu".into()),
                ..spec("a")
            },
        ] {
            let proposed = built(&spec);
            let mut baseline = built(&unrestricted(&spec));
            baseline.id.clone_from(&proposed.id);
            let refused = check_restricted(&baseline, &proposed, &regular).unwrap_err();
            assert!(matches!(refused, AbacoError::Forbidden(_)), "{refused}");
            assert!(check_restricted(&baseline, &proposed, &privileged).is_ok());
        }
        // The default value, written out, is no change.
        let same = pb::ActorSpec {
            max_workers: Some(10),
            ..spec("a")
        };
        assert!(check_restricted(&built(&unrestricted(&same)), &built(&same), &regular).is_ok());
    }

    #[test]
    fn only_owners_and_admins_change_the_code_of_actors_that_carry_their_powers() {
        use abaco::identity::Role;
        let mut current = built(&spec("a"));
        current.token = true;
        let mut swapped = current.clone();
        swapped.image = "mallory/steal".into();
        let shared = Caller::user("default", "bob", Role::Regular);
        let owner = Caller::user("default", "alice", Role::Regular);
        let admin = Caller::user("default", "root", Role::Admin);
        let mut owners_nonce = owner.clone();
        owners_nonce.nonce = Some("default_n".into());
        for refused in [&shared, &owners_nonce] {
            let error = check_trusted_code(&current, &swapped, refused).unwrap_err();
            assert!(error.to_string().contains("image"), "{error}");
        }
        assert!(check_trusted_code(&current, &swapped, &owner).is_ok());
        assert!(check_trusted_code(&current, &swapped, &admin).is_ok());
        // Turning the token on is the same change; other fields are anyone's with UPDATE.
        let plain = built(&spec("a"));
        let mut asks = plain.clone();
        asks.token = true;
        assert!(check_trusted_code(&plain, &asks, &shared).is_err());
        let mut described = current.clone();
        described.description = "d".into();
        assert!(check_trusted_code(&current, &described, &shared).is_ok());
        let mut new_image = plain.clone();
        new_image.image = "bob/other".into();
        assert!(check_trusted_code(&plain, &new_image, &shared).is_ok());
    }
}
