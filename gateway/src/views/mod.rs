//! gRPC records to the JSON the REST API shows. Keys are written in camelCase here and turned
//! into the configured case as each key is inserted, so values that belong to the user (an
//! actor's environment, its state) are never touched by the conversion.

mod access;
mod dead_letters;

use abaco::{limits::NO_LIMIT, pb, settings::Case, status};
use serde_json::{Map, Value};

use crate::identity::Caller;

/// How answers are written for one request: the key case and the base of links.
#[derive(Debug, Clone)]
pub(crate) struct View {
    case: Case,
    base: String,
    caller: Caller,
}

/// A JSON object whose keys are given in camelCase and stored in the view's case.
struct Obj {
    case: Case,
    map: Map<String, Value>,
}

impl Obj {
    fn put(mut self, camel: &str, value: impl Into<Value>) -> Self {
        self.map.insert(key(camel, self.case), value.into());
        self
    }

    fn done(self) -> Value {
        Value::Object(self.map)
    }
}

/// A camelCase key in `case`. Keys that start with `_` (like `_links`) keep it.
pub(crate) fn key(camel: &str, case: Case) -> String {
    match case {
        Case::Camel => camel.to_owned(),
        Case::Snake => {
            let mut out = String::with_capacity(camel.len() + 4);
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    if !out.is_empty() && !out.ends_with('_') {
                        out.push('_');
                    }
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// Docker's final state of a run, as the object it is; null before the run ends.
fn final_state(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// An empty time means "not yet": null, not "".
fn time(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.to_owned())
    }
}

/// A memory limit in bytes as a Docker-style size ("512m"), the largest exact unit; null for
/// the platform default, -1 for no limit.
pub(crate) fn mem_limit(bytes: u64) -> Value {
    match bytes {
        0 => return Value::Null,
        NO_LIMIT => return Value::from(-1),
        _ => {}
    }
    let (shift, unit) = [(40, "t"), (30, "g"), (20, "m"), (10, "k"), (0, "b")]
        .into_iter()
        .find(|(shift, _)| bytes.is_multiple_of(1u64 << shift))
        .unwrap_or((0, "b"));
    Value::String(format!("{}{unit}", bytes >> shift))
}

/// abaco's `maxCpus`: nanoCPUs; null for the platform default, -1 for no limit.
fn nano_cpus(nanos: u64) -> Value {
    match nanos {
        0 => Value::Null,
        NO_LIMIT => Value::from(-1),
        nanos => Value::from(nanos),
    }
}

/// Links are an object of plain lowercase names, the same in both cases.
fn links<const N: usize>(pairs: [(&str, String); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(name, url)| (name.to_owned(), Value::String(url)))
            .collect(),
    )
}

impl View {
    pub(crate) fn new(case: Case, caller: Caller) -> Self {
        Self {
            case,
            base: caller.base.clone(),
            caller,
        }
    }

    fn obj(&self) -> Obj {
        Obj {
            case: self.case,
            map: Map::new(),
        }
    }

    pub(crate) fn actor_url(&self, actor_id: &str) -> String {
        format!("{}/actors/{actor_id}", self.base)
    }

    fn execution_url(&self, actor_id: &str, execution_id: &str) -> String {
        format!("{}/executions/{execution_id}", self.actor_url(actor_id))
    }

    /// An actor with its `_links`.
    pub(crate) fn actor(&self, a: &pb::Actor) -> Value {
        let environment: Map<String, Value> = a
            .default_environment
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let url = self.actor_url(&a.id);
        self.obj()
            .put("id", a.id.as_str())
            .put("name", a.name.as_str())
            .put("image", a.image.as_str())
            .put("description", a.description.as_str())
            .put("owner", a.owner.as_str())
            .put("status", status::actor(a.status()))
            .put("statusMessage", a.status_message.as_str())
            .put("defaultEnvironment", environment)
            .put("stateless", a.stateless)
            .put("privileged", a.privileged)
            .put("useContainerUid", a.use_container_uid)
            .put("maxWorkers", a.max_workers)
            .put("minWorkers", a.min_workers)
            .put("memLimit", mem_limit(a.mem_limit))
            .put("maxCpus", nano_cpus(a.max_cpus))
            .put(
                "type",
                if a.r#type.is_empty() {
                    "none"
                } else {
                    a.r#type.as_str()
                },
            )
            .put("mounts", self.mounts(&a.mounts))
            .put("maxRunTime", a.max_run_time)
            .put("hints", a.hints.clone())
            .put("link", a.link.as_str())
            .put("webhook", a.webhook.as_str())
            .put("cronSchedule", a.cron_schedule.as_str())
            .put("cronOn", a.cron_on)
            .put("cronNextEx", a.cron_next_ex.as_str())
            .put("logEx", a.log_ex)
            .put("token", a.token)
            .put("queue", a.queue.as_str())
            .put("maxRetries", a.max_retries)
            .put("retryExitCodes", a.retry_exit_codes.clone())
            .put("revision", a.revision)
            .put("createTime", time(&a.create_time))
            .put("lastUpdateTime", time(&a.last_update_time))
            .put(
                "_links",
                links([
                    ("executions", format!("{url}/executions")),
                    ("owner", self.caller.profile_link(&a.owner)),
                    ("self", url),
                ]),
            )
            .done()
    }

    /// An execution with its `_links`.
    pub(crate) fn execution(&self, e: &pb::Execution) -> Value {
        let url = self.execution_url(&e.actor_id, &e.id);
        self.obj()
            .put("id", e.id.as_str())
            .put("actorId", e.actor_id.as_str())
            .put("workerId", e.worker_id.as_str())
            .put("executor", e.executor.as_str())
            .put("status", status::execution(e.status()))
            .put("messageReceivedTime", time(&e.message_received_time))
            .put("startTime", time(&e.start_time))
            .put("finishTime", time(&e.finish_time))
            .put("runtime", e.runtime)
            .put("cpu", e.cpu)
            .put("io", e.io)
            .put("exitCode", e.exit_code.map_or(Value::Null, Value::from))
            .put("finalState", final_state(&e.final_state))
            .put("statusMessage", e.status_message.as_str())
            .put("attempts", self.attempts(&e.attempts))
            .put(
                "_links",
                links([
                    ("logs", format!("{url}/logs")),
                    ("results", format!("{url}/results")),
                    ("self", url),
                ]),
            )
            .done()
    }

    /// The executions of an actor with their totals.
    pub(crate) fn execution_summary(&self, s: &pb::ExecutionSummary) -> Value {
        let executions: Vec<Value> = s.executions.iter().map(|e| self.execution(e)).collect();
        self.obj()
            .put("actorId", s.actor_id.as_str())
            .put("owner", s.owner.as_str())
            .put("executions", executions)
            .put("totalExecutions", s.total_executions)
            .put("totalRuntime", s.total_runtime)
            .put("totalCpu", s.total_cpu)
            .put("totalIo", s.total_io)
            .put(
                "nextCursor",
                Some(s.next_cursor.as_str()).filter(|c| !c.is_empty()),
            )
            .put(
                "_links",
                links([
                    ("owner", self.caller.profile_link(&s.owner)),
                    (
                        "self",
                        format!("{}/executions", self.actor_url(&s.actor_id)),
                    ),
                ]),
            )
            .done()
    }

    /// The logs of an execution.
    pub(crate) fn logs(&self, actor_id: &str, l: &pb::ExecutionLogs) -> Value {
        let url = self.execution_url(actor_id, &l.execution_id);
        self.obj()
            .put("logs", l.logs.as_str())
            .put(
                "_links",
                links([("execution", url.clone()), ("self", format!("{url}/logs"))]),
            )
            .done()
    }

    /// A worker; its control address and pid are the platform's business, not the caller's.
    pub(crate) fn worker(&self, w: &pb::Worker) -> Value {
        self.obj()
            .put("id", w.id.as_str())
            .put("actorId", w.actor_id.as_str())
            .put("status", status::worker(w.status()))
            .put("image", w.image.as_str())
            .put("tenant", w.tenant.as_str())
            .put("hostId", w.host_id.as_str())
            .put("cid", w.cid.as_str())
            .put("createTime", time(&w.create_time))
            .put("lastExecutionTime", time(&w.last_execution_time))
            .put("lastHealthCheckTime", time(&w.last_health_check_time))
            .put("revision", w.revision)
            .put("statusMessage", w.status_message.as_str())
            .done()
    }

    /// The earlier tries of an execution, oldest first.
    fn attempts(&self, attempts: &[pb::Attempt]) -> Value {
        Value::Array(
            attempts
                .iter()
                .map(|a| {
                    self.obj()
                        .put("startTime", time(&a.start_time))
                        .put("finishTime", time(&a.finish_time))
                        .put("exitCode", a.exit_code.map_or(Value::Null, Value::from))
                        .put("statusMessage", a.status_message.as_str())
                        .done()
                })
                .collect(),
        )
    }

    /// Administrators' mounts, as abaco shows them.
    fn mounts(&self, mounts: &[pb::Mount]) -> Value {
        Value::Array(
            mounts
                .iter()
                .map(|m| {
                    self.obj()
                        .put("hostPath", m.host_path.as_str())
                        .put("containerPath", m.container_path.as_str())
                        .put("mode", m.mode.as_str())
                        .done()
                })
                .collect(),
        )
    }

    /// A list of workers.
    /// A page of search results with abaco's `_metadata`.
    pub(crate) fn search_page(&self, m: &pb::SearchMetadata, items: Vec<Value>) -> Value {
        let metadata = self
            .obj()
            .put("totalCount", m.total_count)
            .put("recordsSkipped", m.records_skipped)
            .put("recordLimit", m.record_limit)
            .put("countReturned", m.count_returned)
            .done();
        self.obj()
            .put("_metadata", metadata)
            .put("search", Value::Array(items))
            .done()
    }

    pub(crate) fn workers(&self, workers: &[pb::Worker]) -> Value {
        Value::Array(workers.iter().map(|w| self.worker(w)).collect())
    }

    /// The number of messages waiting in (or purged from) an actor's mailbox.
    pub(crate) fn message_count(&self, c: &pb::MessageCount) -> Value {
        let url = self.actor_url(&c.actor_id);
        self.obj()
            .put("messages", c.messages)
            .put(
                "_links",
                links([("actor", url.clone()), ("self", format!("{url}/messages"))]),
            )
            .done()
    }

    /// The answer to a sent message.
    pub(crate) fn sent(&self, s: &pb::SendMessageResponse) -> Value {
        let actor_url = self.actor_url(&s.actor_id);
        self.obj()
            .put("executionId", s.execution_id.as_str())
            .put("msg", s.msg.as_str())
            .put(
                "_links",
                links([
                    ("messages", format!("{actor_url}/messages")),
                    ("owner", self.caller.profile_link(&s.executor)),
                    ("self", self.execution_url(&s.actor_id, &s.execution_id)),
                ]),
            )
            .done()
    }

    /// An actor's state; the state itself is the user's JSON, left as it is.
    pub(crate) fn state(&self, actor_id: &str, state: Value) -> Value {
        self.obj()
            .put("actorId", actor_id)
            .put("state", state)
            .done()
    }

    /// Platform-wide figures.
    /// Tenant-wide figures: abaco's keys (`currentActors`, `totalActors`, `workers`,
    /// `commandQueue`; there is no command queue here, so 0) and ours.
    pub(crate) fn utilization(&self, u: &pb::Utilization) -> Value {
        self.obj()
            .put("currentActors", u.actors)
            .put("totalActors", u.actors)
            .put("commandQueue", 0)
            .put("actors", u.actors)
            .put("workers", u.workers)
            .put("busyWorkers", u.busy_workers)
            .put("executionsRunning", u.executions_running)
            .put("spawners", u.spawners)
            .put("capacity", u.capacity)
            .done()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(case: Case) -> View {
        View::new(
            case,
            Caller::new(
                abaco::identity::Caller::user("default", "alice", abaco::identity::Role::Regular),
                "http://h:8000",
            ),
        )
    }

    fn actor() -> pb::Actor {
        pb::Actor {
            id: "a1".into(),
            image: "abaco/test".into(),
            owner: "alice".into(),
            status: pb::ActorStatus::Ready as i32,
            default_environment: [
                ("MY_KEY".to_string(), "v".to_string()),
                ("camelKey".into(), "w".into()),
            ]
            .into_iter()
            .collect(),
            mem_limit: 512 << 20,
            max_cpus: 1_500_000_000,
            create_time: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn keys_to_snake_case() {
        assert_eq!(key("statusMessage", Case::Snake), "status_message");
        assert_eq!(key("useContainerUid", Case::Snake), "use_container_uid");
        assert_eq!(key("_links", Case::Snake), "_links");
        assert_eq!(key("id", Case::Snake), "id");
        assert_eq!(key("statusMessage", Case::Camel), "statusMessage");
    }

    #[test]
    fn actor_in_camel_case() {
        let v = view(Case::Camel).actor(&actor());
        assert_eq!(v["status"], "READY");
        assert_eq!(v["memLimit"], "512m");
        assert_eq!(v["maxCpus"], 1_500_000_000u64);
        assert_eq!(v["type"], "none");
        assert_eq!(v["lastUpdateTime"], Value::Null);
        assert_eq!(v["createTime"], "2024-01-01T00:00:00Z");
        assert_eq!(
            v["defaultEnvironment"],
            json!({"MY_KEY": "v", "camelKey": "w"})
        );
        assert_eq!(v["_links"]["self"], "http://h:8000/actors/a1");
        assert_eq!(
            v["_links"]["executions"],
            "http://h:8000/actors/a1/executions"
        );
        assert_eq!(v["_links"]["owner"], "http://h:8000/profiles/alice");
        assert!(v.get("statusMessage").is_some() && v.get("status_message").is_none());
    }

    #[test]
    fn snake_case_leaves_user_maps_alone() {
        let v = view(Case::Snake).actor(&actor());
        assert_eq!(
            v["default_environment"],
            json!({"MY_KEY": "v", "camelKey": "w"})
        );
        assert_eq!(v["mem_limit"], "512m");
        assert!(v.get("defaultEnvironment").is_none());
        let state = view(Case::Snake).state("a1", json!({"someKey": {"innerKey": 1}}));
        assert_eq!(
            state,
            json!({"actor_id": "a1", "state": {"someKey": {"innerKey": 1}}})
        );
    }

    #[test]
    fn zero_limits_are_null_and_sizes_pick_exact_units() {
        let v = view(Case::Camel).actor(&pb::Actor::default());
        assert_eq!(v["memLimit"], Value::Null);
        assert_eq!(v["maxCpus"], Value::Null);
        assert_eq!(v["status"], "SUBMITTED");
        assert_eq!(mem_limit(2 << 30), "2g");
        assert_eq!(mem_limit(1536 << 10), "1536k");
        assert_eq!(mem_limit(1000), "1000b");
    }

    #[test]
    fn execution_and_worker_views() {
        let e = pb::Execution {
            id: "e1".into(),
            actor_id: "a1".into(),
            status: pb::ExecutionStatus::Complete as i32,
            exit_code: Some(0),
            ..Default::default()
        };
        let v = view(Case::Snake).execution(&e);
        assert_eq!(v["status"], "COMPLETE");
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["start_time"], Value::Null);
        assert_eq!(
            v["_links"]["logs"],
            "http://h:8000/actors/a1/executions/e1/logs"
        );
        let v = view(Case::Camel).execution(&pb::Execution::default());
        assert_eq!(v["exitCode"], Value::Null);

        let w = pb::Worker {
            id: "w1".into(),
            status: pb::WorkerStatus::SpawnerSetup as i32,
            control_addr: "10.0.0.1:1".into(),
            pid: 42,
            ..Default::default()
        };
        let v = view(Case::Camel).worker(&w);
        assert_eq!(v["status"], "SPAWNER SETUP");
        assert!(v.get("controlAddr").is_none() && v.get("pid").is_none());
        assert_eq!(v["lastHealthCheckTime"], Value::Null);
    }
}
