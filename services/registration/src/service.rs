//! The `abaco.v1.Registration` gRPC service: each call takes the caller the edge verified and
//! hands it, with the request, to the actor or execution code.

use std::{sync::Arc, time::Duration};

use abaco::paging;
use abaco::{
    Result,
    fleet::Fleet,
    mailbox::Mailboxes,
    pb::{self, registration_server::Registration},
    records::Records,
};
use abaco_auth::{
    Access, Authenticator,
    grpc::{Authenticated, serve},
};
use tonic::{Request, Response, Status};

use crate::spec::Limits;

/// Serves actor registration over the records, mailboxes and fleet it is given.
#[derive(Debug, Clone)]
pub struct RegistrationService {
    pub(crate) access: Access,
    pub(crate) mailboxes: Arc<dyn Mailboxes>,
    pub(crate) fleet: Arc<dyn Fleet>,
    pub(crate) limits: Limits,
    /// How often a follow reads the record of an execution not running yet.
    pub(crate) follow_poll: Duration,
}

impl RegistrationService {
    /// A service over these backends; `access` decides who may do what.
    pub fn new(
        access: Access,
        mailboxes: Arc<dyn Mailboxes>,
        fleet: Arc<dyn Fleet>,
        limits: Limits,
    ) -> Self {
        Self {
            access,
            mailboxes,
            fleet,
            limits,
            follow_poll: Duration::from_millis(250),
        }
    }

    /// Reads the record of a followed execution that is not running yet (or whose worker
    /// was lost) every `poll`.
    #[must_use]
    pub fn with_follow_poll(mut self, poll: Duration) -> Self {
        self.follow_poll = poll.max(Duration::from_millis(1));
        self
    }

    /// The gRPC server for this service, behind `auth`.
    pub fn into_server(
        self,
        auth: Authenticator,
    ) -> Authenticated<pb::registration_server::RegistrationServer<Self>> {
        Authenticated::new(pb::registration_server::RegistrationServer::new(self), auth)
    }

    pub(crate) fn records(&self) -> &Records {
        self.access.records()
    }
}

#[tonic::async_trait]
impl Registration for RegistrationService {
    async fn create_actor(
        &self,
        request: Request<pb::CreateActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        serve(request, async |caller, r| {
            self.create(r.spec.unwrap_or_default(), &caller).await
        })
        .await
    }

    async fn get_actor(
        &self,
        request: Request<pb::GetActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        serve(request, async |caller, r| {
            self.get(&r.actor_id, &caller).await
        })
        .await
    }

    async fn list_actors(
        &self,
        request: Request<pb::ListActorsRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        serve(request, async |caller, r| {
            let actors = self.access.readable_actors(&caller).await?;
            let page = paging::cut(actors, paging::actor_key, r.page.as_ref())?;
            Ok(pb::ListActorsResponse {
                actors: page.items,
                next_cursor: page.next_cursor,
            })
        })
        .await
    }

    async fn update_actor(
        &self,
        request: Request<pb::UpdateActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        serve(request, async |caller, r| self.update(r, &caller).await).await
    }

    async fn delete_actor(
        &self,
        request: Request<pb::DeleteActorRequest>,
    ) -> Result<Response<pb::DeleteActorResponse>, Status> {
        serve(request, async |caller, r| {
            let actor_id = self.delete(&r.actor_id, &caller).await?;
            Ok(pb::DeleteActorResponse { actor_id })
        })
        .await
    }

    async fn list_executions(
        &self,
        request: Request<pb::ListExecutionsRequest>,
    ) -> Result<Response<pb::ExecutionSummary>, Status> {
        serve(request, async |caller, r| {
            self.executions(&r, &caller).await
        })
        .await
    }

    async fn get_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        serve(request, async |caller, r| {
            self.execution(&r, &caller, pb::PermissionLevel::Read)
                .await
                .map(|(_, execution)| execution)
        })
        .await
    }

    async fn get_execution_logs(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::ExecutionLogs>, Status> {
        serve(request, async |caller, r| self.logs(&r, &caller).await).await
    }

    async fn force_quit_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        serve(request, async |caller, r| {
            self.force_quit(&r, &caller).await
        })
        .await
    }

    async fn get_state(
        &self,
        request: Request<pb::GetStateRequest>,
    ) -> Result<Response<pb::ActorState>, Status> {
        serve(request, async |caller, r| {
            self.state(&r.actor_id, &caller).await
        })
        .await
    }

    async fn set_state(
        &self,
        request: Request<pb::SetStateRequest>,
    ) -> Result<Response<pb::ActorState>, Status> {
        serve(request, async |caller, r| self.set_state(r, &caller).await).await
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        serve(request, async |caller, r| self.search(r, &caller).await).await
    }

    type FollowExecutionLogsStream = crate::follow::Follow;

    async fn follow_execution_logs(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<Self::FollowExecutionLogsStream>, Status> {
        serve(request, async |caller, r| self.follow(r, &caller).await).await
    }
}
