//! Search: the records of a kind the caller may read (every actor's they may read, or one
//! actor's), as documents, through the query. Where abaco shows only records the caller has
//! an explicit grant on, here search shows what the caller may read: owned, granted, shared
//! with everyone, or everything of the tenant for an admin.

use abaco::{
    AbacoError, Result,
    identity::Caller,
    pb::{self, PermissionLevel},
    records::child_key,
    store::Table,
};
use abaco_search::{Page, Query, document};

use crate::service::RegistrationService;

/// What may be searched.
const KINDS: [&str; 4] = ["actors", "executions", "workers", "logs"];

impl RegistrationService {
    pub(crate) async fn search(
        &self,
        request: pb::SearchRequest,
        caller: &Caller,
    ) -> Result<pb::SearchResponse> {
        let kind = request.kind.to_ascii_lowercase();
        if !KINDS.contains(&kind.as_str()) {
            return Err(AbacoError::invalid(format!(
                "search type must be one of {}, not {:?}",
                KINDS.join(", "),
                request.kind
            )));
        }
        let params: Vec<(String, String)> = request
            .params
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect();
        let query = Query::parse(&params, self.limits.search_max_limit)
            .map_err(|error| AbacoError::Invalid(error.0))?;
        let mut actors = if request.actor_id.is_empty() {
            self.access.readable_actors(caller).await?
        } else {
            vec![
                self.access
                    .actor(caller, &request.actor_id, PermissionLevel::Read)
                    .await?
                    .actor,
            ]
        };
        actors.sort_by(|a, b| a.create_time.cmp(&b.create_time));
        let mut found = pb::SearchResponse::default();
        let total = match kind.as_str() {
            "actors" => {
                let page = query.page(actors.into_iter().map(|a| {
                    let doc = document::actor(&a);
                    (a, doc)
                }));
                found.actors = page.items;
                page.total
            }
            "executions" if query.matches_all() && actors.len() == 1 => {
                // A plain page of one actor's executions: read from the acceptance order,
                // only the page, whatever the actor holds.
                let records = self.records();
                let actor = &actors[0].id;
                let page = records
                    .executions_page(actor, None, query.skip, query.limit)
                    .await?;
                found.executions = page.executions;
                usize::try_from(records.count_executions(actor).await?).unwrap_or(usize::MAX)
            }
            "executions" => {
                let mut executions = Vec::new();
                for actor in &actors {
                    let mut of_actor: Vec<pb::Execution> = self
                        .records()
                        .list(Table::Executions, &format!("{}/", actor.id))
                        .await?;
                    executions.append(&mut of_actor);
                }
                executions.sort_by(|a, b| a.message_received_time.cmp(&b.message_received_time));
                let page = query.page(executions.into_iter().map(|e| {
                    let doc = document::execution(&e);
                    (e, doc)
                }));
                found.executions = page.items;
                page.total
            }
            "workers" => {
                let mut workers = Vec::new();
                for actor in &actors {
                    let mut of_actor: Vec<pb::Worker> = self
                        .records()
                        .list(Table::Workers, &format!("{}/", actor.id))
                        .await?;
                    workers.append(&mut of_actor);
                }
                workers.sort_by(|a, b| a.create_time.cmp(&b.create_time));
                let page = query.page(workers.into_iter().map(|w| {
                    let doc = document::worker(&w);
                    (w, doc)
                }));
                found.workers = page.items;
                page.total
            }
            _ => {
                let page = self
                    .search_logs(&actors, &request.execution_id, &query)
                    .await?;
                found.logs = page.items;
                page.total
            }
        };
        let returned =
            found.actors.len() + found.executions.len() + found.workers.len() + found.logs.len();
        found.metadata = Some(pb::SearchMetadata {
            total_count: total as u64,
            records_skipped: query.skip as u64,
            record_limit: query.limit as u64,
            count_returned: returned as u64,
        });
        Ok(found)
    }

    async fn search_logs(
        &self,
        actors: &[pb::Actor],
        execution_id: &str,
        query: &Query,
    ) -> Result<Page<pb::ExecutionLogs>> {
        let mut logs = Vec::new();
        for actor in actors {
            let prefix = if execution_id.is_empty() {
                format!("{}/", actor.id)
            } else {
                child_key(&actor.id, execution_id)
            };
            for (key, found) in self.records().store().scan(Table::Logs, &prefix).await? {
                let Some((_, execution)) = key.split_once('/') else {
                    continue;
                };
                if !execution_id.is_empty() && execution != execution_id {
                    continue;
                }
                logs.push(pb::ExecutionLogs {
                    execution_id: execution.to_string(),
                    logs: String::from_utf8_lossy(&found.value).into_owned(),
                    actor_id: actor.id.clone(),
                });
            }
        }
        Ok(query.page(logs.into_iter().map(|l| {
            let doc = document::logs(&l.actor_id, &l.execution_id, &l.logs);
            (l, doc)
        })))
    }
}
