//! From a caller's [`ActorSpec`] to an [`Actor`] record: defaults on create, merge on update,
//! and the checks a record must pass before it is stored. Every refusal names the field.

use abaco::{AbacoError, Result, identity::Caller, ids, limits::NO_LIMIT, pb};

use crate::{image_ref, rules};

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
    /// Largest `limit` of a search.
    pub search_max_limit: usize,
    /// Largest `maxRetries`.
    pub max_retries: u32,
    /// Executions in a page of a listing that names no `limit`.
    pub list_page_size: usize,
    /// Most executions in one page.
    pub list_page_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_workers: 100,
            default_max_workers: 10,
            max_run_time: 7 * 24 * 3600,
            max_log_ex: 365 * 24 * 3600,
            min_mem_limit: 6 * 1024 * 1024,
            search_max_limit: 1000,
            max_retries: 10,
            list_page_size: 500,
            list_page_max: 5000,
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
        queue,
        max_retries
    );
    if spec.has_default_environment || !spec.default_environment.is_empty() {
        actor.default_environment = spec.default_environment.clone();
    }
    if spec.has_hints || !spec.hints.is_empty() {
        actor.hints = spec.hints.clone();
    }
    if let Some(kind) = &spec.r#type {
        actor.r#type.clone_from(kind);
    }
    if spec.has_mounts || !spec.mounts.is_empty() {
        actor.mounts = spec.mounts.clone();
    }
    if spec.has_retry_exit_codes || !spec.retry_exit_codes.is_empty() {
        actor.retry_exit_codes = spec.retry_exit_codes.clone();
    }
    actor.image != old_image
}

/// The actor as a replacing update (abaco's PUT) leaves it: what a registration of `spec`
/// would make, keeping what a PUT cannot change (id, owner, tenant, creation, revision,
/// status) and, when the spec leaves them out, the name and the cron schedule. Whether the
/// image changed.
pub fn replace(actor: &mut pb::Actor, spec: &pb::ActorSpec, limits: &Limits) -> bool {
    let owner = Owner {
        tenant: &actor.tenant,
        user: &actor.owner,
    };
    let mut fresh = new_actor(spec, &owner, limits, &actor.create_time);
    fresh.id.clone_from(&actor.id);
    fresh.revision = actor.revision;
    fresh.status = actor.status;
    fresh.status_message.clone_from(&actor.status_message);
    if spec.name.is_none() {
        fresh.name.clone_from(&actor.name);
    }
    if spec.cron_schedule.is_none() {
        fresh.cron_schedule.clone_from(&actor.cron_schedule);
    }
    if spec.cron_on.is_none() {
        fresh.cron_on = actor.cron_on;
    }
    let image_changed = fresh.image != actor.image;
    *actor = fresh;
    image_changed
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

/// How an update applies its spec.
#[derive(Debug, Clone, Copy)]
pub struct Update {
    /// Replace the actor (abaco's PUT): unset fields take their defaults.
    pub replace: bool,
    /// Replace the workers even when nothing that runs changed.
    pub force: bool,
}

/// The actor `current` becomes by `spec`, checked: the restricted and administrators' fields,
/// the code of actors that carry their owner's powers, and every value. A new image,
/// `force`, or a change between stateless and stateful bumps the revision, which replaces
/// the workers.
pub fn updated(
    current: &pb::Actor,
    spec: &pb::ActorSpec,
    how: Update,
    caller: &Caller,
    limits: &Limits,
) -> Result<pb::Actor> {
    let apply = |actor: &mut pb::Actor, spec: &pb::ActorSpec| {
        if how.replace {
            replace(actor, spec, limits)
        } else {
            merge(actor, spec)
        }
    };
    let mut baseline = current.clone();
    apply(&mut baseline, &rules::unrestricted(spec));
    let mut next = current.clone();
    let image_changed = apply(&mut next, spec);
    crate::cron_fields::apply(Some(current), &mut next, spec, chrono::Utc::now())?;
    rules::check_restricted(&baseline, &next, caller)?;
    rules::check_admin_fields(&baseline, &next, caller)?;
    rules::check_trusted_code(current, &next, caller)?;
    if how.replace && spec.image.is_none() {
        return Err(AbacoError::invalid(
            "image is required: PUT replaces the actor (PATCH changes only the fields given)",
        ));
    }
    validate(&next, limits)?;
    if image_changed || how.force || next.stateless != current.stateless {
        next.revision += 1;
    }
    next.last_update_time = abaco::time::now();
    Ok(next)
}

/// Who a new actor belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The tenant it lives in.
    pub tenant: &'a str,
    /// The user who owns it.
    pub user: &'a str,
}

/// Checks a record about to be stored.
pub fn validate(actor: &pb::Actor, limits: &Limits) -> Result<()> {
    let invalid = |text: String| Err(AbacoError::Invalid(text));
    if actor.image.is_empty() {
        return invalid("image is required".into());
    }
    if actor.max_retries > limits.max_retries {
        return invalid(format!(
            "maxRetries must be at most {} (the platform's max_retries)",
            limits.max_retries
        ));
    }
    if actor
        .retry_exit_codes
        .iter()
        .any(|code| !(0..=255).contains(code))
    {
        return invalid("retryExitCodes must be exit codes, 0 to 255".into());
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
    if actor.mem_limit != 0 && actor.mem_limit != NO_LIMIT && actor.mem_limit < limits.min_mem_limit
    {
        return invalid(format!(
            "memLimit must be at least {} bytes",
            limits.min_mem_limit
        ));
    }
    if actor.max_cpus != NO_LIMIT && actor.max_cpus > 1024 * 1_000_000_000 {
        return invalid("maxCpus must be at most 1024000000000 nanoCPUs (1024 CPUs)".into());
    }
    // abaco's docs name none, bin and json; its clients send function too.
    if !["", "none", "function", "bin", "json"].contains(&actor.r#type.as_str()) {
        return invalid(format!(
            "type must be none, function, bin or json, not {:?}",
            actor.r#type
        ));
    }
    for mount in &actor.mounts {
        let absolute = mount.host_path.starts_with('/') && mount.container_path.starts_with('/');
        let plain = !mount.host_path.contains(':') && !mount.container_path.contains(':');
        if !absolute || !plain || !["ro", "rw"].contains(&mount.mode.as_str()) {
            return invalid(
                "mounts must be {hostPath, containerPath, mode} with absolute paths (no ':') and mode ro or rw".into(),
            );
        }
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
