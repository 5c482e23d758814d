//! The `abaco.v1.Registration` gRPC service.

use std::sync::Arc;

use abaco::{
    AbacoError, Result,
    error::respond,
    fleet::Fleet,
    identity,
    mailbox::Mailboxes,
    pb::{self, registration_server::Registration},
    records::{Records, child_key},
    store::Table,
    time,
};
use bytes::Bytes;
use tonic::{Request, Response, Status};

use crate::spec::{self, Limits};

/// How long a force-quit waits for the execution's final record.
const FORCE_QUIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Largest state document of a stateful actor, in bytes.
const MAX_STATE_BYTES: usize = 1024 * 1024;

/// Serves actor registration over the records, mailboxes and fleet it is given.
#[derive(Debug, Clone)]
pub struct RegistrationService {
    records: Records,
    mailboxes: Arc<dyn Mailboxes>,
    fleet: Arc<dyn Fleet>,
    limits: Limits,
}

impl RegistrationService {
    /// A service over these backends.
    pub fn new(
        records: Records,
        mailboxes: Arc<dyn Mailboxes>,
        fleet: Arc<dyn Fleet>,
        limits: Limits,
    ) -> Self {
        Self {
            records,
            mailboxes,
            fleet,
            limits,
        }
    }

    /// The gRPC server for this service.
    pub fn into_server(self) -> pb::registration_server::RegistrationServer<Self> {
        pb::registration_server::RegistrationServer::new(self)
    }

    /// An actor the caller may see; others' actors look absent, so ids do not leak.
    async fn readable_actor(&self, actor_id: &str, caller: &str) -> Result<pb::Actor> {
        self.records
            .actor_for(actor_id, caller, &self.limits.admins)
            .await
    }

    async fn create(&self, spec: pb::ActorSpec, caller: &str) -> Result<pb::Actor> {
        let actor = spec::new_actor(&spec, caller, &self.limits, &time::now());
        spec::validate(&actor, caller, &self.limits)?;
        self.check_link(&actor).await?;
        // The mailbox first: an actor record must never exist without somewhere to queue.
        self.mailboxes
            .create(&actor.id)
            .await
            .map_err(|e| AbacoError::Unavailable(e.to_string()))?;
        self.records
            .insert(Table::Actors, &actor.id, &actor)
            .await?;
        if let Err(error) = self.fleet.actor_changed(&actor).await {
            tracing::warn!(actor = %actor.id, %error, "no worker started yet");
        }
        self.records.actor(&actor.id).await
    }

    async fn update(&self, request: pb::UpdateActorRequest, caller: &str) -> Result<pb::Actor> {
        let current = self.readable_actor(&request.actor_id, caller).await?;
        let spec = request.spec.unwrap_or_default();
        let mut preview = current.clone();
        spec::merge(&mut preview, &spec);
        spec::validate(&preview, caller, &self.limits)?;
        self.check_link(&preview).await?;
        let limits = self.limits.clone();
        let updated = self
            .records
            .update(Table::Actors, &request.actor_id, |actor: &mut pb::Actor| {
                if actor.status() == pb::ActorStatus::ShuttingDown {
                    return Err(AbacoError::Conflict("actor is being deleted".into()));
                }
                let image_changed = spec::merge(actor, &spec);
                spec::validate(actor, caller, &limits)?;
                if image_changed || request.force {
                    actor.revision += 1;
                }
                actor.last_update_time = time::now();
                Ok(true)
            })
            .await?;
        if let Err(error) = self.fleet.actor_changed(&updated).await {
            tracing::warn!(actor = %updated.id, %error, "workers not replaced yet");
        }
        Ok(updated)
    }

    async fn delete(&self, actor_id: &str, caller: &str) -> Result<()> {
        self.readable_actor(actor_id, caller).await?;
        self.records
            .update(Table::Actors, actor_id, |actor: &mut pb::Actor| {
                actor.set_status(pb::ActorStatus::ShuttingDown);
                actor.status_message = "deleting".into();
                Ok(true)
            })
            .await?;
        self.fleet.actor_deleted(actor_id).await?;
        self.mailboxes
            .delete(actor_id)
            .await
            .map_err(|e| AbacoError::Unavailable(e.to_string()))?;
        self.records.purge_actor(actor_id).await
    }

    async fn check_link(&self, actor: &pb::Actor) -> Result<()> {
        if actor.link.is_empty() {
            return Ok(());
        }
        // Follow the chain: a link must exist and must not lead back to this actor.
        let mut next = actor.link.clone();
        for _ in 0..32 {
            if next == actor.id {
                return Err(AbacoError::invalid("link would form a cycle"));
            }
            let linked: Option<pb::Actor> = self.records.get(Table::Actors, &next).await?;
            match linked {
                None => return Err(AbacoError::invalid(format!("link: no actor {next}"))),
                Some(linked) if linked.link.is_empty() => return Ok(()),
                Some(linked) => next = linked.link,
            }
        }
        Err(AbacoError::invalid("link chain is too long"))
    }

    async fn executions(&self, actor_id: &str, caller: &str) -> Result<pb::ExecutionSummary> {
        let actor = self.readable_actor(actor_id, caller).await?;
        let executions: Vec<pb::Execution> = self
            .records
            .list(Table::Executions, &format!("{actor_id}/"))
            .await?;
        let mut summary = pb::ExecutionSummary {
            actor_id: actor.id,
            owner: actor.owner,
            total_executions: executions.len() as u64,
            ..Default::default()
        };
        for execution in &executions {
            summary.total_runtime += execution.runtime;
            summary.total_cpu += execution.cpu;
            summary.total_io += execution.io;
        }
        summary.executions = executions;
        Ok(summary)
    }

    async fn execution(
        &self,
        request: &pb::GetExecutionRequest,
        caller: &str,
    ) -> Result<pb::Execution> {
        self.readable_actor(&request.actor_id, caller).await?;
        self.records
            .get(
                Table::Executions,
                &child_key(&request.actor_id, &request.execution_id),
            )
            .await?
            .ok_or_else(|| AbacoError::not_found("execution", &request.execution_id))
    }

    /// Cancels a queued execution, or has its worker end a running one, then waits briefly
    /// for the final record so the caller sees the outcome.
    async fn force_quit(
        &self,
        request: &pb::GetExecutionRequest,
        caller: &str,
    ) -> Result<pb::Execution> {
        let execution = self.execution(request, caller).await?;
        let key = child_key(&request.actor_id, &request.execution_id);
        match execution.status() {
            pb::ExecutionStatus::Complete | pb::ExecutionStatus::Error => Err(
                AbacoError::Conflict(format!("execution {} has already finished", execution.id)),
            ),
            pb::ExecutionStatus::Submitted | pb::ExecutionStatus::Unspecified => {
                // A worker that takes the message later finds it final and acks it unrun.
                let cancelled = self
                    .records
                    .update(Table::Executions, &key, |e: &mut pb::Execution| {
                        if e.status() != pb::ExecutionStatus::Submitted {
                            return Ok(false);
                        }
                        e.set_status(pb::ExecutionStatus::Error);
                        e.status_message = "cancelled before it ran (force-quit)".into();
                        e.finish_time = time::now();
                        Ok(true)
                    })
                    .await?;
                if cancelled.status() == pb::ExecutionStatus::Running {
                    return Box::pin(self.force_quit(request, caller)).await;
                }
                Ok(cancelled)
            }
            pb::ExecutionStatus::Running => {
                if !self.fleet.force_quit(&execution).await? {
                    // Finished meanwhile, or its worker is gone (then the run comes back to
                    // another worker, which a later force-quit reaches).
                    let current = self.execution(request, caller).await?;
                    if abaco::status::execution_is_final(current.status()) {
                        return Ok(current);
                    }
                    return Err(AbacoError::Conflict(format!(
                        "execution {} is not running on a live worker",
                        execution.id
                    )));
                }
                let deadline = tokio::time::Instant::now() + FORCE_QUIT_WAIT;
                loop {
                    let current = self.execution(request, caller).await?;
                    if abaco::status::execution_is_final(current.status())
                        || tokio::time::Instant::now() > deadline
                    {
                        return Ok(current);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn stateful_actor(&self, actor_id: &str, caller: &str) -> Result<pb::Actor> {
        let actor = self.readable_actor(actor_id, caller).await?;
        if actor.stateless {
            return Err(AbacoError::invalid(
                "actor is stateless; register it with stateless: false to keep state",
            ));
        }
        Ok(actor)
    }
}

#[tonic::async_trait]
impl Registration for RegistrationService {
    async fn create_actor(
        &self,
        request: Request<pb::CreateActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        let caller = identity::caller(&request);
        let spec = request.into_inner().spec.unwrap_or_default();
        respond(self.create(spec, &caller).await)
    }

    async fn get_actor(
        &self,
        request: Request<pb::GetActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        let caller = identity::caller(&request);
        respond(
            self.readable_actor(&request.get_ref().actor_id, &caller)
                .await,
        )
    }

    async fn list_actors(
        &self,
        request: Request<pb::ListActorsRequest>,
    ) -> Result<Response<pb::ListActorsResponse>, Status> {
        let caller = identity::caller(&request);
        let is_admin = self.limits.admins.contains(&caller);
        let result = self
            .records
            .list::<pb::Actor>(Table::Actors, "")
            .await
            .map(|actors| pb::ListActorsResponse {
                actors: actors
                    .into_iter()
                    .filter(|actor| is_admin || actor.owner == caller)
                    .collect(),
            });
        respond(result)
    }

    async fn update_actor(
        &self,
        request: Request<pb::UpdateActorRequest>,
    ) -> Result<Response<pb::Actor>, Status> {
        let caller = identity::caller(&request);
        respond(self.update(request.into_inner(), &caller).await)
    }

    async fn delete_actor(
        &self,
        request: Request<pb::DeleteActorRequest>,
    ) -> Result<Response<pb::DeleteActorResponse>, Status> {
        let caller = identity::caller(&request);
        let actor_id = request.into_inner().actor_id;
        respond(
            self.delete(&actor_id, &caller)
                .await
                .map(|()| pb::DeleteActorResponse { actor_id }),
        )
    }

    async fn list_executions(
        &self,
        request: Request<pb::ListExecutionsRequest>,
    ) -> Result<Response<pb::ExecutionSummary>, Status> {
        let caller = identity::caller(&request);
        respond(self.executions(&request.get_ref().actor_id, &caller).await)
    }

    async fn get_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        let caller = identity::caller(&request);
        respond(self.execution(request.get_ref(), &caller).await)
    }

    async fn get_execution_logs(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::ExecutionLogs>, Status> {
        let caller = identity::caller(&request);
        let request = request.into_inner();
        let result = async {
            let execution = self.execution(&request, &caller).await?;
            let logs = self
                .records
                .get_blob(Table::Logs, &child_key(&request.actor_id, &execution.id))
                .await?
                .unwrap_or_default();
            Ok(pb::ExecutionLogs {
                execution_id: execution.id,
                logs: String::from_utf8_lossy(&logs).into_owned(),
            })
        }
        .await;
        respond(result)
    }

    async fn force_quit_execution(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::Execution>, Status> {
        let caller = identity::caller(&request);
        respond(self.force_quit(request.get_ref(), &caller).await)
    }

    async fn get_state(
        &self,
        request: Request<pb::GetStateRequest>,
    ) -> Result<Response<pb::ActorState>, Status> {
        let caller = identity::caller(&request);
        let actor_id = request.into_inner().actor_id;
        let result = async {
            self.stateful_actor(&actor_id, &caller).await?;
            let state = self.records.get_blob(Table::State, &actor_id).await?;
            Ok(pb::ActorState {
                state_json: state
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or_else(|| "{}".into()),
                actor_id,
            })
        }
        .await;
        respond(result)
    }

    async fn set_state(
        &self,
        request: Request<pb::SetStateRequest>,
    ) -> Result<Response<pb::ActorState>, Status> {
        let caller = identity::caller(&request);
        let request = request.into_inner();
        let result = async {
            self.stateful_actor(&request.actor_id, &caller).await?;
            if request.state_json.len() > MAX_STATE_BYTES {
                return Err(AbacoError::TooMuch(format!(
                    "state must be at most {MAX_STATE_BYTES} bytes"
                )));
            }
            serde_json::from_str::<serde_json::Value>(&request.state_json)
                .map_err(|e| AbacoError::invalid(format!("state must be JSON: {e}")))?;
            self.records
                .put_blob(
                    Table::State,
                    &request.actor_id,
                    Bytes::from(request.state_json.clone()),
                    None,
                )
                .await?;
            Ok(pb::ActorState {
                actor_id: request.actor_id,
                state_json: request.state_json,
            })
        }
        .await;
        respond(result)
    }
}
