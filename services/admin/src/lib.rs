//! The admin service: an actor's workers (list, get, ensure a number, stop one) and
//! platform-wide utilization. Workers are started and stopped through the fleet; this service
//! only reads their records and forwards the intent.

use std::sync::Arc;

use abaco::{
    AbacoError, Result,
    error::respond,
    fleet::Fleet,
    identity,
    pb::{self, admin_server::Admin},
    records::{Records, child_key},
    store::Table,
};
use tonic::{Request, Response, Status};

/// Most workers one `EnsureWorkers` call may ask for.
const MAX_ENSURE: u32 = 100;

/// Serves the admin API over the records and fleet it is given.
#[derive(Debug, Clone)]
pub struct AdminService {
    records: Records,
    fleet: Arc<dyn Fleet>,
    admins: Vec<String>,
}

impl AdminService {
    /// A service over these backends; `admins` may see platform-wide figures.
    pub fn new(records: Records, fleet: Arc<dyn Fleet>, admins: Vec<String>) -> Self {
        Self {
            records,
            fleet,
            admins,
        }
    }

    /// The gRPC server for this service.
    pub fn into_server(self) -> pb::admin_server::AdminServer<Self> {
        pb::admin_server::AdminServer::new(self)
    }

    fn is_admin(&self, caller: &str) -> bool {
        self.admins.iter().any(|admin| admin == caller)
    }

    async fn owned_actor(&self, actor_id: &str, caller: &str) -> Result<pb::Actor> {
        self.records.actor_for(actor_id, caller, &self.admins).await
    }

    async fn workers(&self, actor_id: &str, caller: &str) -> Result<pb::ListWorkersResponse> {
        self.owned_actor(actor_id, caller).await?;
        let workers = self
            .records
            .list(Table::Workers, &format!("{actor_id}/"))
            .await?;
        Ok(pb::ListWorkersResponse { workers })
    }

    async fn worker(&self, request: &pb::WorkerRef, caller: &str) -> Result<pb::Worker> {
        self.owned_actor(&request.actor_id, caller).await?;
        self.records
            .get(
                Table::Workers,
                &child_key(&request.actor_id, &request.worker_id),
            )
            .await?
            .ok_or_else(|| AbacoError::not_found("worker", &request.worker_id))
    }

    fn require_admin(&self, caller: &str, what: &str) -> Result<()> {
        if self.is_admin(caller) {
            Ok(())
        } else {
            Err(AbacoError::Forbidden(format!(
                "{what} is for administrators"
            )))
        }
    }

    async fn utilization(&self, caller: &str) -> Result<pb::Utilization> {
        self.require_admin(caller, "utilization")?;
        let actors: Vec<pb::Actor> = self.records.list(Table::Actors, "").await?;
        let workers: Vec<pb::Worker> = self.records.list(Table::Workers, "").await?;
        let spawners: Vec<pb::SpawnerInfo> = self.records.list(Table::Spawners, "").await?;
        let executions: Vec<pb::Execution> = self.records.list(Table::Executions, "").await?;
        Ok(pb::Utilization {
            actors: actors.len() as u64,
            workers: workers.len() as u64,
            busy_workers: workers
                .iter()
                .filter(|w| w.status() == pb::WorkerStatus::Busy)
                .count() as u64,
            executions_running: executions
                .iter()
                .filter(|e| e.status() == pb::ExecutionStatus::Running)
                .count() as u64,
            spawners: spawners.len() as u64,
            capacity: spawners.iter().map(|s| u64::from(s.capacity)).sum(),
        })
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn list_workers(
        &self,
        request: Request<pb::ActorRef>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let caller = identity::caller(&request);
        respond(self.workers(&request.get_ref().actor_id, &caller).await)
    }

    async fn get_worker(
        &self,
        request: Request<pb::WorkerRef>,
    ) -> Result<Response<pb::Worker>, Status> {
        let caller = identity::caller(&request);
        respond(self.worker(request.get_ref(), &caller).await)
    }

    async fn ensure_workers(
        &self,
        request: Request<pb::EnsureWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let caller = identity::caller(&request);
        let request = request.into_inner();
        let result = async {
            let actor = self.owned_actor(&request.actor_id, &caller).await?;
            if request.num == 0 || request.num > MAX_ENSURE {
                return Err(AbacoError::invalid(format!(
                    "num must be between 1 and {MAX_ENSURE}"
                )));
            }
            if request.num > actor.max_workers {
                return Err(AbacoError::invalid(format!(
                    "num must not exceed the actor's maxWorkers ({})",
                    actor.max_workers
                )));
            }
            let workers = self.fleet.ensure_workers(&actor.id, request.num).await?;
            Ok(pb::ListWorkersResponse { workers })
        }
        .await;
        respond(result)
    }

    async fn delete_worker(
        &self,
        request: Request<pb::WorkerRef>,
    ) -> Result<Response<pb::Worker>, Status> {
        let caller = identity::caller(&request);
        let request = request.into_inner();
        let result = async {
            self.worker(&request, &caller).await?;
            self.fleet
                .stop_worker(&request.actor_id, &request.worker_id)
                .await
        }
        .await;
        respond(result)
    }

    async fn get_utilization(
        &self,
        request: Request<pb::UtilizationRequest>,
    ) -> Result<Response<pb::Utilization>, Status> {
        let caller = identity::caller(&request);
        respond(self.utilization(&caller).await)
    }

    async fn list_all_actors(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        let caller = identity::caller(&request);
        let result = async {
            self.require_admin(&caller, "the platform-wide actor listing")?;
            let actors = self.records.list(Table::Actors, "").await?;
            Ok(pb::ListActorsResponse { actors })
        }
        .await;
        respond(result)
    }

    async fn list_all_workers(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let caller = identity::caller(&request);
        let result = async {
            self.require_admin(&caller, "the platform-wide worker listing")?;
            let workers = self.records.list(Table::Workers, "").await?;
            Ok(pb::ListWorkersResponse { workers })
        }
        .await;
        respond(result)
    }

    async fn list_all_executions(
        &self,
        request: Request<pb::AdminListRequest>,
    ) -> Result<Response<pb::ListExecutionsResponse>, Status> {
        let caller = identity::caller(&request);
        let result = async {
            self.require_admin(&caller, "the platform-wide execution listing")?;
            let executions = self.records.list(Table::Executions, "").await?;
            Ok(pb::ListExecutionsResponse { executions })
        }
        .await;
        respond(result)
    }
}
