//! From a caller's [`ActorSpec`] to an [`Actor`] record: defaults on create, merge on update,
//! and the checks a record must pass before it is stored. Every refusal names the field.

use abaco::{AbacoError, Result, identity::Caller, ids, pb};

use crate::image_ref;

/// Limits that registration enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Workers an actor may ask for at most.
    pub max_workers: u32,
    /// `maxWorkers` of an actor that names none.
    pub default_max_workers: u32,
    /// Longest `maxRunTime` in seconds.
    pub max_run_time: u32,
    /// Longest `logEx` in seconds.
    pub max_log_ex: u32,
    /// Smallest `memLimit` in bytes Docker accepts.
    pub min_mem_limit: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_workers: 100,
            default_max_workers: 10,
            max_run_time: 7 * 24 * 3600,
            max_log_ex: 365 * 24 * 3600,
            min_mem_limit: 6 * 1024 * 1024,
        }
    }
}

/// Copies every field the spec sets onto `actor`; whether the image changed.
pub fn merge(actor: &mut pb::Actor, spec: &pb::ActorSpec) -> bool {
    let old_image = actor.image.clone();
    macro_rules! take {
        ($($field:ident),*) => { $( if let Some(value) = spec.$field.clone() { actor.$field = value; } )* };
    }
    take!(
        name,
        image,
        description,
        stateless,
        privileged,
        use_container_uid,
        max_workers,
        min_workers,
        mem_limit,
        max_cpus,
        max_run_time,
        link,
        webhook,
        cron_schedule,
        cron_on,
        log_ex,
        token,
        queue
    );
    if spec.has_default_environment || !spec.default_environment.is_empty() {
        actor.default_environment = spec.default_environment.clone();
    }
    if spec.has_hints || !spec.hints.is_empty() {
        actor.hints = spec.hints.clone();
    }
    actor.image != old_image
}

/// A new actor record from a spec, before validation.
pub fn new_actor(spec: &pb::ActorSpec, owner: &Owner<'_>, limits: &Limits, now: &str) -> pb::Actor {
    let mut actor = pb::Actor {
        id: ids::new_id(),
        owner: owner.user.to_string(),
        tenant: owner.tenant.to_string(),
        status: pb::ActorStatus::Submitted.into(),
        stateless: true,
        queue: "default".into(),
        revision: 1,
        create_time: now.to_string(),
        last_update_time: now.to_string(),
        ..Default::default()
    };
    merge(&mut actor, spec);
    if spec.max_workers.is_none() {
        actor.max_workers = if actor.stateless {
            limits.default_max_workers
        } else {
            1
        };
    }
    if spec.min_workers.is_none() {
        // One warm worker by default, as abaco starts one at registration.
        actor.min_workers = 1;
    }
    actor
}

/// Who a new actor belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The tenant it lives in.
    pub tenant: &'a str,
    /// The user who owns it.
    pub user: &'a str,
}

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
        ..spec.clone()
    }
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

/// Checks a record about to be stored.
pub fn validate(actor: &pb::Actor, limits: &Limits) -> Result<()> {
    let invalid = |text: String| Err(AbacoError::Invalid(text));
    if actor.image.is_empty() {
        return invalid("image is required".into());
    }
    if let Some(problem) = image_ref::problem(&actor.image) {
        return invalid(problem);
    }
    if actor.name.len() > 128 {
        return invalid("name must be at most 128 characters".into());
    }
    if actor.description.len() > 4096 {
        return invalid("description must be at most 4096 characters".into());
    }
    if actor.max_workers == 0 || actor.max_workers > limits.max_workers {
        return invalid(format!(
            "maxWorkers must be between 1 and {}",
            limits.max_workers
        ));
    }
    if !actor.stateless && actor.max_workers > 1 {
        return invalid("a stateful actor (stateless: false) has maxWorkers at most 1".into());
    }
    if actor.min_workers > actor.max_workers {
        return invalid("minWorkers must not exceed maxWorkers".into());
    }
    if actor.max_run_time > limits.max_run_time {
        return invalid(format!(
            "maxRunTime must be at most {} seconds",
            limits.max_run_time
        ));
    }
    if actor.log_ex > limits.max_log_ex {
        return invalid(format!(
            "logEx must be at most {} seconds",
            limits.max_log_ex
        ));
    }
    if actor.mem_limit != 0 && actor.mem_limit < limits.min_mem_limit {
        return invalid(format!(
            "memLimit must be at least {} bytes",
            limits.min_mem_limit
        ));
    }
    if actor.max_cpus > 1024 * 1_000_000_000 {
        return invalid("maxCpus must be at most 1024".into());
    }
    for key in actor.default_environment.keys() {
        if !abaco::names::is_env_name(key) {
            return invalid(format!(
                "defaultEnvironment key {key:?} is not a valid environment variable name"
            ));
        }
        if key.starts_with("_abaco_") || key == "MSG" {
            return invalid(format!(
                "defaultEnvironment key {key:?} is reserved by the platform"
            ));
        }
    }
    if actor
        .hints
        .iter()
        .any(|hint| hint.is_empty() || hint.len() > 64)
    {
        return invalid("hints must be non-empty strings of at most 64 characters".into());
    }
    let webhook_ok = actor.webhook.is_empty()
        || actor.webhook.starts_with("http://")
        || actor.webhook.starts_with("https://");
    if !webhook_ok {
        return invalid("webhook must be an http:// or https:// URL".into());
    }
    if actor.link == actor.id {
        return invalid("link must name another actor".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(image: &str) -> pb::ActorSpec {
        pb::ActorSpec {
            image: Some(image.into()),
            ..Default::default()
        }
    }

    const ALICE: Owner<'static> = Owner {
        tenant: "default",
        user: "alice",
    };

    fn built(spec: &pb::ActorSpec) -> pb::Actor {
        new_actor(spec, &ALICE, &Limits::default(), "2026-01-01T00:00:00.000Z")
    }

    #[test]
    fn defaults_fill_a_minimal_spec() {
        let actor = built(&spec("abaco/sample-echo"));
        assert!(actor.stateless);
        assert_eq!(actor.max_workers, 10);
        assert_eq!(actor.min_workers, 1);
        assert_eq!(actor.revision, 1);
        assert_eq!(actor.owner, "alice");
        assert!(ids::looks_like_id(&actor.id));
        assert!(validate(&actor, &Limits::default()).is_ok());
    }

    #[test]
    fn stateful_actors_get_one_worker_and_refuse_two() {
        let mut s = spec("abaco/sample-echo");
        s.stateless = Some(false);
        assert_eq!(built(&s).max_workers, 1);
        s.max_workers = Some(2);
        let error = validate(&built(&s), &Limits::default()).unwrap_err();
        assert!(error.to_string().contains("maxWorkers"), "{error}");
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(pb::ActorSpec, &str)> = vec![
            (pb::ActorSpec::default(), "image"),
            (spec("Not Valid"), "image"),
            (
                pb::ActorSpec {
                    max_workers: Some(0),
                    ..spec("a")
                },
                "maxWorkers",
            ),
            (
                pb::ActorSpec {
                    min_workers: Some(20),
                    ..spec("a")
                },
                "minWorkers",
            ),
            (
                pb::ActorSpec {
                    mem_limit: Some(10),
                    ..spec("a")
                },
                "memLimit",
            ),
            (
                pb::ActorSpec {
                    webhook: Some("ftp://x".into()),
                    ..spec("a")
                },
                "webhook",
            ),
            (
                pb::ActorSpec {
                    default_environment: [("1BAD".to_string(), "x".to_string())].into(),
                    ..spec("a")
                },
                "defaultEnvironment",
            ),
        ];
        for (spec, field) in cases {
            let error = validate(&built(&spec), &Limits::default()).unwrap_err();
            assert!(
                error.to_string().contains(field),
                "{error} should name {field}"
            );
        }
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

    #[test]
    fn merge_keeps_unset_fields_and_reports_image_change() {
        let mut actor = built(&pb::ActorSpec {
            name: Some("n".into()),
            ..spec("a")
        });
        let changed = merge(
            &mut actor,
            &pb::ActorSpec {
                description: Some("d".into()),
                ..Default::default()
            },
        );
        assert!(!changed);
        assert_eq!(actor.name, "n");
        assert_eq!(actor.description, "d");
        assert!(merge(&mut actor, &spec("b")));
    }
}
