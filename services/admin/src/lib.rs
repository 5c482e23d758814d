//! The admin service: an actor's workers (list, get, ensure a number, stop one) and
//! platform-wide utilization. Workers are started and stopped through the fleet; this service
//! only reads their records and forwards the intent.

use std::{collections::HashSet, sync::Arc};

use abaco::{
    AbacoError, Result,
    fleet::Fleet,
    identity::Caller,
    paging,
    pb::{self, PermissionLevel, admin_server::Admin},
    records::{Records, child_key},
    store::Table,
};
use abaco_auth::{
    Access, Authenticator,
    grpc::{Authenticated, serve},
};
use tonic::{Request, Response, Status};

mod executions;

/// Most workers one `EnsureWorkers` call may ask for.
const MAX_ENSURE: u32 = 100;

/// Serves the admin API over the records and fleet it is given.
#[derive(Debug, Clone)]
pub struct AdminService {
    records: Records,
    access: Access,
    fleet: Arc<dyn Fleet>,
    pages: Pages,
}

/// Sizes of a page of the tenant-wide execution listing.
#[derive(Debug, Clone, Copy)]
pub struct Pages {
    /// Executions on a page that names no limit.
    pub size: usize,
    /// The most on any page.
    pub max: usize,
}

impl Default for Pages {
    fn default() -> Self {
        Self {
            size: 500,
            max: 5000,
        }
    }
}

impl AdminService {
    /// A service over these backends; `access` decides who may do what.
    pub fn new(access: Access, fleet: Arc<dyn Fleet>) -> Self {
        Self {
            records: access.records().clone(),
            access,
            fleet,
            pages: Pages::default(),
        }
    }

    /// The same service with these page sizes.
    pub fn with_pages(self, pages: Pages) -> Self {
        Self { pages, ..self }
    }

    /// The gRPC server for this service, behind `auth`.
    pub fn into_server(
        self,
        auth: Authenticator,
    ) -> Authenticated<pb::admin_server::AdminServer<Self>> {
        Authenticated::new(pb::admin_server::AdminServer::new(self), auth)
    }

    async fn actor(
        &self,
        identifier: &str,
        caller: &Caller,
        need: PermissionLevel,
    ) -> Result<pb::Actor> {
        Ok(self.access.actor(caller, identifier, need).await?.actor)
    }

    async fn workers(&self, identifier: &str, caller: &Caller) -> Result<pb::ListWorkersResponse> {
        let actor = self
            .actor(identifier, caller, PermissionLevel::Read)
            .await?;
        let workers = self
            .records
            .list(Table::Workers, &format!("{}/", actor.id))
            .await?;
        Ok(pb::ListWorkersResponse {
            workers,
            ..Default::default()
        })
    }

    async fn worker(
        &self,
        request: &pb::WorkerRef,
        caller: &Caller,
        need: PermissionLevel,
    ) -> Result<pb::Worker> {
        let actor = self.actor(&request.actor_id, caller, need).await?;
        self.records
            .get(Table::Workers, &child_key(&actor.id, &request.worker_id))
            .await?
            .ok_or_else(|| AbacoError::not_found("worker", &request.worker_id))
    }

    /// The actors of the admin's tenant (the platform-wide views show no other tenant's).
    async fn tenant_actors(&self, caller: &Caller, what: &str) -> Result<Vec<pb::Actor>> {
        require_admin(caller, what)?;
        self.access.readable_actors(caller).await
    }

    /// Every record of `table` that belongs to one of `actors`.
    async fn of_actors<M: prost::Message + Default>(
        &self,
        table: Table,
        actors: &[pb::Actor],
        actor_of: impl Fn(&M) -> &str,
    ) -> Result<Vec<M>> {
        let ids: HashSet<&str> = actors.iter().map(|actor| actor.id.as_str()).collect();
        let all: Vec<M> = self.records.list(table, "").await?;
        Ok(all
            .into_iter()
            .filter(|record| ids.contains(actor_of(record)))
            .collect())
    }

    async fn utilization(&self, caller: &Caller) -> Result<pb::Utilization> {
        let actors = self.tenant_actors(caller, "utilization").await?;
        let workers: Vec<pb::Worker> = self
            .of_actors(Table::Workers, &actors, |w: &pb::Worker| &w.actor_id)
            .await?;
        let running = self.running_executions(&actors).await?;
        let spawners: Vec<pb::SpawnerInfo> = self.records.list(Table::Spawners, "").await?;
        Ok(pb::Utilization {
            actors: actors.len() as u64,
            workers: workers.len() as u64,
            busy_workers: workers
                .iter()
                .filter(|w| w.status() == pb::WorkerStatus::Busy)
                .count() as u64,
            executions_running: running,
            // Hosts are shared by every tenant: their figures are the platform's.
            spawners: spawners.len() as u64,
            capacity: spawners.iter().map(|s| u64::from(s.capacity)).sum(),
        })
    }
}

/// Refuses a caller who does not administer its tenant.
fn require_admin(caller: &Caller, what: &str) -> Result<()> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(AbacoError::Forbidden(format!(
            "{what} is for administrators"
        )))
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn list_workers(
        &self,
        request: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        serve(request, async |caller, r| {
            let all = self.workers(&r.actor_id, &caller).await?;
            workers_page(all.workers, r.page.as_ref())
        })
        .await
    }

    async fn get_worker(
        &self,
        request: Request<pb::WorkerRef>,
    ) -> Result<Response<pb::Worker>, Status> {
        serve(request, async |caller, r| {
            self.worker(&r, &caller, PermissionLevel::Read).await
        })
        .await
    }

    /// Adding workers is for administrators, as in abaco.
    async fn ensure_workers(
        &self,
        request: Request<pb::EnsureWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        serve(request, async |caller, r| {
            // A nonce can never add workers: refused before its use is spent.
            if caller.via_nonce() {
                require_admin(&caller, "adding workers")?;
            }
            let actor = self
                .actor(&r.actor_id, &caller, PermissionLevel::Read)
                .await?;
            require_admin(&caller, "adding workers")?;
            if r.num == 0 || r.num > MAX_ENSURE {
                return Err(AbacoError::invalid(format!(
                    "num must be between 1 and {MAX_ENSURE}"
                )));
            }
            if r.num > actor.max_workers {
                return Err(AbacoError::invalid(format!(
                    "num must not exceed the actor's maxWorkers ({})",
                    actor.max_workers
                )));
            }
            let workers = self.fleet.ensure_workers(&actor.id, r.num).await?;
            Ok(pb::ListWorkersResponse {
                workers,
                ..Default::default()
            })
        })
        .await
    }

    async fn delete_worker(
        &self,
        request: Request<pb::WorkerRef>,
    ) -> Result<Response<pb::Worker>, Status> {
        serve(request, async |caller, r| {
            let worker = self.worker(&r, &caller, PermissionLevel::Update).await?;
            self.fleet.stop_worker(&worker.actor_id, &worker.id).await
        })
        .await
    }

    async fn get_utilization(
        &self,
        request: Request<pb::UtilizationRequest>,
    ) -> Result<Response<pb::Utilization>, Status> {
        serve(request, async |caller, _| self.utilization(&caller).await).await
    }

    async fn list_all_actors(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        serve(request, async |caller, r| {
            let actors = self
                .tenant_actors(&caller, "the tenant-wide actor listing")
                .await?;
            let page = paging::cut(actors, paging::actor_key, r.page.as_ref())?;
            Ok(pb::ListActorsResponse {
                actors: page.items,
                next_cursor: page.next_cursor,
            })
        })
        .await
    }

    async fn list_all_workers(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        serve(request, async |caller, r| {
            let actors = self
                .tenant_actors(&caller, "the tenant-wide worker listing")
                .await?;
            let workers = self
                .of_actors(Table::Workers, &actors, |w: &pb::Worker| &w.actor_id)
                .await?;
            workers_page(workers, r.page.as_ref())
        })
        .await
    }

    async fn list_all_executions(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListExecutionsResponse>, Status> {
        serve(request, async |caller, r| {
            let actors = self
                .tenant_actors(&caller, "the tenant-wide execution listing")
                .await?;
            self.executions_page(actors, r.page.as_ref()).await
        })
        .await
    }
}

/// A page of workers, in the order they were made.
fn workers_page(
    workers: Vec<pb::Worker>,
    page: Option<&pb::PageRequest>,
) -> Result<pb::ListWorkersResponse> {
    let page = paging::cut(workers, |w| format!("{}/{}", w.create_time, w.id), page)?;
    Ok(pb::ListWorkersResponse {
        workers: page.items,
        next_cursor: page.next_cursor,
    })
}
