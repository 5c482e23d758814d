//! Path and query parameters, for the OpenAPI document.

#![allow(dead_code)]

use utoipa::{IntoParams, ToSchema};

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ActorPath {
    /// An actor's id, or an alias of it.
    actor_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ExecutionPath {
    /// An actor's id, or an alias of it.
    actor_id: String,
    execution_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct WorkerPath {
    /// An actor's id, or an alias of it.
    actor_id: String,
    worker_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ActorNoncePath {
    /// An actor's id, or an alias of it.
    actor_id: String,
    nonce_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct DeadLetterPath {
    /// An actor's id, or an alias of it.
    actor_id: String,
    /// The dead letter's id: the execution id its message was accepted as.
    dead_letter_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AliasPath {
    alias: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AliasNoncePath {
    alias: String,
    nonce_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ConfigPath {
    /// The config's name.
    name: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SearchPath {
    /// What to search. Query parameters are the search: `field=value`, `field.neq=value`,
    /// `field.gt=...`, `field.like=...`, `limit`, `skip`.
    #[param(inline)]
    kind: SearchKind,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum SearchKind {
    Actors,
    Workers,
    Executions,
    Logs,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SendQuery {
    /// `true`: wait (at most the platform's `sync_wait_secs`) for the run, and answer its
    /// results' bytes, or its logs as text when it wrote none.
    _abaco_synchronous: Option<bool>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// The `X-Next-Cursor` of the page before: the page after it.
    cursor: Option<String>,
    /// Records to pass over before the page.
    #[param(minimum = 0)]
    skip: Option<u64>,
    /// Most records on the page (default: all of them).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CursorPage {
    /// A page instead of every record: empty for the first page, then the `X-Next-Cursor` of
    /// the page before. With it, `skip` and `limit` cut the page; without it, any query
    /// parameter (`skip` and `limit` too) makes the request a search, as in abaco.
    cursor: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExecutionsPage {
    /// The `nextCursor` of the page before: the page after it (empty: the first page). With
    /// it, `skip` and `limit` (default `list_page_size`, at most `list_page_max`) cut the
    /// page; without it, any query parameter (`skip` and `limit` too) makes the request a
    /// search, as in abaco.
    cursor: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogsQuery {
    /// `true`: stream the logs as server-sent events until the run ends.
    follow: Option<bool>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct SendHeaders {
    /// Sends with the same key (to the same actor, by the same user) are one message: the
    /// first is accepted, the others answer its execution (with `Idempotent-Replayed: true`),
    /// for as long as that execution is kept, across restarts. 1 to 255 visible ASCII
    /// characters.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}
