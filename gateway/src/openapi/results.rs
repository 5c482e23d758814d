//! The shapes of the API's answers, for the OpenAPI document. The views (`crate::views`) write
//! the JSON; the tests at the end of this file render each view and validate it against the
//! schema here, so a field added to one and not the other fails the build's tests.
//!
//! Keys are camelCase, the default (`case = "snake"` writes the same fields in snake_case).

// The fields are read by the schema derive and by serde in the tests, never by hand.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Every answer (but an execution's raw results and a log stream) comes in this envelope.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Envelope<T> {
    /// `success`, or `error` with a status code of 4xx or 5xx.
    status: Outcome,
    /// What happened, in words: on an error, what was wrong and which field.
    message: String,
    result: T,
    /// The platform's version.
    version: String,
}

/// Whether the request succeeded.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    Success,
    Error,
}

/// A refused or failed request: `status` is `error` and `result` is null.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorEnvelope {
    status: Outcome,
    message: String,
    result: Null,
    version: String,
}

/// Links to related resources, by name (`self`, `owner`, `executions`, ...).
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct Links(BTreeMap<String, String>);

/// JSON's `null`: the result of a deletion, and of every error.
#[derive(Serialize, Deserialize)]
pub(crate) struct Null;

impl utoipa::PartialSchema for Null {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Null)
            .into()
    }
}

impl ToSchema for Null {}

/// A registered actor. (Open to more fields: the administrators' listing adds some.)
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Actor {
    id: String,
    name: String,
    image: String,
    description: String,
    owner: String,
    /// SUBMITTED, READY, ERROR or BUSY.
    status: String,
    status_message: String,
    /// Given to every run's environment; keys and values as the owner wrote them.
    default_environment: BTreeMap<String, String>,
    stateless: bool,
    privileged: bool,
    use_container_uid: bool,
    max_workers: u32,
    min_workers: u32,
    /// A Docker-style size (`512m`), -1 for no limit, null for the platform default.
    #[schema(value_type = Value)]
    mem_limit: Value,
    /// Nano-CPUs, -1 for no limit, null for the platform default.
    max_cpus: Option<i64>,
    #[serde(rename = "type")]
    kind: String,
    mounts: Vec<Mount>,
    /// Seconds a run may take; 0 for the platform default.
    max_run_time: u64,
    hints: Vec<String>,
    /// The actor that receives this one's events.
    link: String,
    /// The URL that receives this one's events.
    webhook: String,
    cron_schedule: String,
    cron_on: bool,
    cron_next_ex: String,
    /// How many executions' logs are kept; 0 for all.
    log_ex: u64,
    /// Whether runs get an access token.
    token: bool,
    queue: String,
    /// Tries of a message run again when a run could not be carried out or exited with one
    /// of `retryExitCodes`.
    max_retries: u32,
    retry_exit_codes: Vec<i64>,
    revision: u64,
    create_time: Option<String>,
    last_update_time: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// A host directory an administrator mounts into the actor's runs.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Mount {
    host_path: String,
    container_path: String,
    /// `ro` or `rw`.
    mode: String,
}

/// An actor in the administrators' listing: the actor with its workers and totals.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminActor {
    #[serde(flatten)]
    actor: Actor,
    workers: Vec<Worker>,
    /// Messages waiting in its mailbox; null when the broker could not say.
    messages: Option<u64>,
    executions: u64,
    runtime: u64,
}

/// One run of an actor for one message.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Execution {
    id: String,
    actor_id: String,
    worker_id: String,
    /// Who the run acts as.
    executor: String,
    /// SUBMITTED, RUNNING, COMPLETE or ERROR.
    status: String,
    message_received_time: Option<String>,
    start_time: Option<String>,
    finish_time: Option<String>,
    /// Seconds the container ran.
    runtime: u64,
    cpu: u64,
    io: u64,
    exit_code: Option<i64>,
    /// Docker's final state of the container; null before the run ends.
    #[schema(value_type = Value)]
    final_state: Value,
    status_message: String,
    /// The earlier tries (the actor's `maxRetries`), oldest first; the record is the last.
    attempts: Vec<Attempt>,
    #[serde(rename = "_links")]
    links: Links,
}

/// One earlier try of an execution.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Attempt {
    start_time: Option<String>,
    finish_time: Option<String>,
    exit_code: Option<i64>,
    /// Why it was tried again.
    status_message: String,
}

/// A page of an actor's executions, oldest first.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExecutionSummary {
    actor_id: String,
    owner: String,
    /// The page.
    executions: Vec<Execution>,
    /// Every execution the actor has, not only the page's.
    total_executions: u64,
    /// Sums over the executions of the page.
    total_runtime: u64,
    total_cpu: u64,
    total_io: u64,
    /// Pass it as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// The logs of an execution.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Logs {
    logs: String,
    #[serde(rename = "_links")]
    links: Links,
}

/// A worker: one process that runs an actor's messages, one container at a time.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Worker {
    id: String,
    actor_id: String,
    /// REQUESTED, SPAWNER SETUP, CREATING CONTAINER, READY, BUSY, SHUTDOWN REQUESTED, ERROR...
    status: String,
    image: String,
    tenant: String,
    host_id: String,
    /// The container of its current run, if any.
    cid: String,
    create_time: Option<String>,
    last_execution_time: Option<String>,
    last_health_check_time: Option<String>,
    revision: u64,
    status_message: String,
}

/// Messages waiting in (or purged from) an actor's mailbox.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageCount {
    messages: u64,
    #[serde(rename = "_links")]
    links: Links,
}

/// A message accepted: the execution that will run it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Sent {
    execution_id: String,
    /// The message as text (binary messages: empty).
    msg: String,
    #[serde(rename = "_links")]
    links: Links,
}

/// An actor's state: the owner's JSON as it was stored.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct State {
    actor_id: String,
    #[schema(value_type = Value)]
    state: Value,
}

/// A delivered message a worker put aside instead of running.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DeadLetter {
    /// The execution id the message was accepted as.
    id: String,
    actor_id: String,
    /// Why it was not run.
    reason: String,
    time: Option<String>,
    content_type: String,
    sender: String,
    /// The message's size in bytes.
    size: u64,
    /// The message, for a text or JSON one; null for a binary or unreadable one.
    message: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// The executions replayed dead letters run as (their own ids).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Replayed {
    actor_id: String,
    execution_ids: Vec<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// Figures of the caller's tenant.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Utilization {
    current_actors: u64,
    total_actors: u64,
    /// Always 0: there is no command queue here.
    command_queue: u64,
    actors: u64,
    workers: u64,
    busy_workers: u64,
    executions_running: u64,
    spawners: u64,
    capacity: u64,
}

/// Bytes as they are: a binary message, an execution's results.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct Binary(Vec<u8>);

/// Users and their level on an actor, alias or config: READ, EXECUTE or UPDATE.
#[derive(Serialize, Deserialize, ToSchema)]
pub(crate) struct Permissions(BTreeMap<String, String>);

/// A name for an actor.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Alias {
    alias: String,
    actor_id: String,
    owner: String,
    create_time: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// A token that lets anyone holding it call an actor (or alias) at a level, a number of times.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Nonce {
    id: String,
    /// The actor it opens; null for a nonce of an alias.
    actor_id: Option<String>,
    /// The alias it opens; null for a nonce of an actor.
    alias: Option<String>,
    owner: String,
    level: String,
    /// -1 for unlimited.
    max_uses: i64,
    remaining_uses: i64,
    current_uses: i64,
    description: String,
    create_time: Option<String>,
    last_use_time: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// A value given to the runs of the actors it names; a secret's value is never shown.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Config {
    name: String,
    value: String,
    is_secret: bool,
    /// Comma-separated actor ids and aliases.
    actors: String,
    owner: String,
    create_time: Option<String>,
    last_update_time: Option<String>,
    #[serde(rename = "_links")]
    links: Links,
}

/// The actors, or (given query parameters other than a cursor) a search of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ActorsOrSearch {
    Listing(Vec<Actor>),
    Search(SearchPage),
}

/// The workers, or (given query parameters other than a cursor) a search of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum WorkersOrSearch {
    Listing(Vec<Worker>),
    Search(SearchPage),
}

/// A page of executions, or (given query parameters other than a cursor) a search of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ExecutionsOrSearch {
    Page(ExecutionSummary),
    Search(SearchPage),
}

/// A page of search results.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchPage {
    #[serde(rename = "_metadata")]
    metadata: SearchMetadata,
    /// Actors, executions, workers or logs, as the search's kind says.
    #[schema(value_type = Vec<Value>)]
    search: Vec<Value>,
}

/// Where a page of search results sits in the whole.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SearchMetadata {
    total_count: u64,
    records_skipped: u64,
    record_limit: u64,
    count_returned: u64,
}

/// `GET /actors/admin/workers`: counts by status, and every worker.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminWorkers {
    summary: WorkerSummary,
    workers: Vec<Worker>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct WorkerSummary {
    total_workers: u64,
    ready_workers: u64,
    requested_workers: u64,
    error_workers: u64,
    busy_workers: u64,
    actors_no_workers: u64,
}

/// `GET /actors/admin/executions`: the tenant's totals, and each actor's.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminExecutions {
    summary: ExecutionTotals,
    actors: Vec<ActorExecutionTotals>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExecutionTotals {
    total_actors_existing: u64,
    total_actors_existing_with_executions: u64,
    total_executions_existing: u64,
    total_execution_runtime_existing: u64,
    total_execution_cpu_existing: u64,
    total_execution_io_existing: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ActorExecutionTotals {
    actor_id: String,
    owner: String,
    image: String,
    status: String,
    total_executions: u64,
    total_execution_cpu: u64,
    total_execution_io: u64,
    total_execution_runtime: u64,
}
