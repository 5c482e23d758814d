//! The messages service: turns an accepted message into a SUBMITTED execution plus a durable
//! mailbox entry, counts and purges mailboxes, and serves results.
//!
//! The execution id is made here, when the message is accepted, and travels with the message;
//! that is what lets a worker run each accepted message once even when it is redelivered.

mod dead_letters;
mod owners;
mod purged;

use std::sync::Arc;

use abaco::paging;
use abaco::{
    AbacoError, Result,
    fleet::Fleet,
    identity::Caller,
    ids,
    mailbox::Mailboxes,
    pb::{self, PermissionLevel, messages_server::Messages},
    records::{Records, child_key},
    store::Table,
    time,
};
use abaco_auth::{
    Access, Authenticator,
    grpc::{Authenticated, serve},
};
use abaco_intake::{Incoming, Intake};
use owners::Owners;
use tonic::{Request, Response, Status};

/// Content types a message may have.
const CONTENT_TYPES: [&str; 3] = ["str", "application/json", "application/octet-stream"];

/// Largest text or JSON message: a run gets it as `MSG` in its environment, which Linux bounds
/// (see [`abaco::names::max_env_value`]). Larger data goes as `application/octet-stream`,
/// through a FIFO.
pub const MAX_TEXT_MESSAGE: usize = abaco::names::max_env_value("MSG");

/// Serves messages over the records, mailboxes and fleet it is given.
#[derive(Debug, Clone)]
pub struct MessagesService {
    records: Records,
    access: Access,
    mailboxes: Arc<dyn Mailboxes>,
    intake: Intake,
    owners: Owners,
    purge_concurrency: usize,
}

impl MessagesService {
    /// A service over these backends; `access` decides who may do what.
    pub fn new(access: Access, mailboxes: Arc<dyn Mailboxes>, fleet: Arc<dyn Fleet>) -> Self {
        Self {
            records: access.records().clone(),
            intake: Intake::new(access.records().clone(), mailboxes.clone(), fleet),
            access,
            mailboxes,
            owners: Owners::default(),
            purge_concurrency: abaco::settings::DEFAULT_PURGE_CONCURRENCY,
        }
    }

    /// Ends up to `concurrency` (at least 1) purged executions at once.
    pub fn with_purge_concurrency(mut self, concurrency: usize) -> Self {
        self.purge_concurrency = concurrency.max(1);
        self
    }

    /// The gRPC server for this service, behind `auth`.
    pub fn into_server(
        self,
        auth: Authenticator,
    ) -> Authenticated<pb::messages_server::MessagesServer<Self>> {
        Authenticated::new(pb::messages_server::MessagesServer::new(self), auth)
    }

    /// An actor the caller may act on at `need`, and not being deleted (else as good as
    /// absent).
    async fn actor_for(
        &self,
        identifier: &str,
        caller: &Caller,
        need: PermissionLevel,
    ) -> Result<pb::Actor> {
        let actor = self.access.actor(caller, identifier, need).await?.actor;
        live(&actor)?;
        Ok(actor)
    }

    #[tracing::instrument(
        name = "send_message",
        skip_all,
        fields(actor = %request.actor_id, execution = tracing::field::Empty)
    )]
    async fn send(
        &self,
        request: pb::SendMessageRequest,
        caller: &Caller,
    ) -> Result<pb::SendMessageResponse> {
        if !CONTENT_TYPES.contains(&request.content_type.as_str()) {
            return Err(AbacoError::invalid(format!(
                "content type must be one of {CONTENT_TYPES:?}"
            )));
        }
        if request.body.is_empty() {
            return Err(AbacoError::invalid("message must not be empty"));
        }
        if request.content_type != "application/octet-stream" {
            if std::str::from_utf8(&request.body).is_err() {
                return Err(AbacoError::invalid("a text message must be UTF-8"));
            }
            if request.body.len() > MAX_TEXT_MESSAGE {
                return Err(AbacoError::TooLarge(format!(
                    "a text or JSON message is at most {MAX_TEXT_MESSAGE} bytes (it reaches the run as the MSG environment variable, which Linux limits); send larger data as application/octet-stream, which the run reads from /_abaco_binary_data"
                )));
            }
        }
        check_idempotency_key(&request.idempotency_key)?;
        if let Some(name) = request
            .environment
            .keys()
            .find(|name| !abaco::names::is_env_name(name))
        {
            return Err(AbacoError::invalid(format!(
                "parameter {name:?} is not a valid environment variable name"
            )));
        }
        let (actor_id, executor) = self.authorize_send(&request.actor_id, caller).await?;
        if let Some(most) = request.refuse_if_deeper_than {
            let depth = self
                .mailboxes
                .depth(&actor_id)
                .await
                .map_err(mailbox_error)?;
            if depth > most {
                return Err(AbacoError::Conflict(format!(
                    "{depth} messages wait in the mailbox of actor {actor_id}: a synchronous message is taken only while at most {most} do"
                )));
            }
        }
        let keyed = !request.idempotency_key.is_empty();
        let incoming = Incoming {
            // The key names the execution: a repeat lands on the same record, on any
            // process, after any restart, for as long as the record is kept.
            execution_id: keyed.then(|| {
                ids::derived_id(&format!(
                    "{actor_id}/{executor}/idempotency/{}",
                    request.idempotency_key
                ))
            }),
            actor_id,
            body: request.body.clone(),
            content_type: request.content_type.clone(),
            environment: request.environment,
            executor: executor.clone(),
            // The worker's execution span continues this trace.
            trace_context: abaco::trace_context::to_map(&tracing::Span::current()),
        };
        let (accepted, repeated) = if keyed {
            self.intake.accept_once(incoming).await?
        } else {
            (self.intake.accept(incoming).await?, false)
        };
        Ok(pb::SendMessageResponse {
            msg: summary(&request.content_type, &request.body),
            execution_id: accepted.execution.id,
            actor_id: accepted.actor.id,
            executor,
            repeated,
        })
    }
}

impl MessagesService {
    /// Decides a send before anything is written: the actor id it goes to and the user the run
    /// acts as. A nonce is redeemed (it says whose the run is); an actor's owner, an admin or a
    /// caller of another tenant is decided from the remembered owner (no round trip); anyone
    /// else, or an actor not seen yet, has the actor read and checked.
    async fn authorize_send(&self, identifier: &str, caller: &Caller) -> Result<(String, String)> {
        if caller.via_nonce() {
            let granted = self
                .access
                .actor(caller, identifier, PermissionLevel::Execute)
                .await?;
            return Ok((granted.actor.id, granted.caller.user));
        }
        let actor_id = self.access.resolve(&caller.tenant, identifier).await?;
        if let Some((tenant, owner)) = self.owners.get(&actor_id) {
            if tenant != caller.tenant {
                return Err(AbacoError::not_found("actor", &actor_id));
            }
            if owner == caller.user || caller.is_admin() {
                return Ok((actor_id, caller.user.clone()));
            }
        }
        let actor = self
            .access
            .actor(caller, &actor_id, PermissionLevel::Execute)
            .await?
            .actor;
        self.owners
            .saw(&actor.id, self.access.tenant_of(&actor), &actor.owner);
        Ok((actor.id, caller.user.clone()))
    }
}

/// Longest idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An idempotency key is empty (none) or 1 to 255 visible ASCII characters.
fn check_idempotency_key(key: &str) -> Result<()> {
    if key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AbacoError::invalid(format!(
            "an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(())
}

/// An actor being deleted takes no more messages: to callers it is already gone.
fn live(actor: &pb::Actor) -> Result<()> {
    if actor.status() == pb::ActorStatus::ShuttingDown {
        return Err(AbacoError::not_found("actor", &actor.id));
    }
    Ok(())
}

/// The message as the answer shows it: the text, or a note of a binary message's size.
fn summary(content_type: &str, body: &[u8]) -> String {
    if content_type == "application/octet-stream" {
        format!("<binary message of {} bytes>", body.len())
    } else {
        String::from_utf8_lossy(body).into_owned()
    }
}

fn mailbox_error(error: abaco::mailbox::MailboxError) -> AbacoError {
    AbacoError::Unavailable(error.to_string())
}

#[tonic::async_trait]
impl Messages for MessagesService {
    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        serve(request, async |caller, r| self.send(r, &caller).await).await
    }

    async fn count_messages(
        &self,
        request: Request<pb::ActorRef>,
    ) -> Result<Response<pb::MessageCount>, Status> {
        serve(request, async |caller, r| {
            let actor = self
                .actor_for(&r.actor_id, &caller, PermissionLevel::Read)
                .await?;
            let messages = self
                .mailboxes
                .depth(&actor.id)
                .await
                .map_err(mailbox_error)?;
            Ok(pb::MessageCount {
                actor_id: actor.id,
                messages,
            })
        })
        .await
    }

    async fn purge_messages(
        &self,
        request: Request<pb::ActorRef>,
    ) -> Result<Response<pb::MessageCount>, Status> {
        serve(request, async |caller, r| {
            let actor = self
                .actor_for(&r.actor_id, &caller, PermissionLevel::Update)
                .await?;
            let purged_at = time::now();
            let messages = self
                .mailboxes
                .purge(&actor.id)
                .await
                .map_err(mailbox_error)?;
            let settled = self.settle_purged(&actor.id, &purged_at).await?;
            tracing::info!(actor = %actor.id, messages, settled, "mailbox purged");
            Ok(pb::MessageCount {
                actor_id: actor.id,
                messages,
            })
        })
        .await
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::DeadLetters>, Status> {
        serve(request, async |caller, r| {
            let all = self.dead_letters(&r.actor_id, &caller).await?;
            let page = paging::cut(
                all.dead_letters,
                |letter| format!("{}/{}", letter.time, letter.id),
                r.page.as_ref(),
            )?;
            Ok(pb::DeadLetters {
                dead_letters: page.items,
                next_cursor: page.next_cursor,
                ..all
            })
        })
        .await
    }

    async fn replay_dead_letters(
        &self,
        request: Request<pb::DeadLetterRef>,
    ) -> Result<Response<pb::ReplayedDeadLetters>, Status> {
        serve(request, async |caller, r| self.replay(r, &caller).await).await
    }

    async fn delete_dead_letter(
        &self,
        request: Request<pb::DeadLetterRef>,
    ) -> Result<Response<pb::DeadLetters>, Status> {
        serve(request, async |caller, r| self.discard(r, &caller).await).await
    }

    async fn get_results(
        &self,
        request: Request<pb::GetExecutionRequest>,
    ) -> Result<Response<pb::ExecutionResults>, Status> {
        serve(request, async |caller, r| {
            let actor = self
                .actor_for(&r.actor_id, &caller, PermissionLevel::Read)
                .await?;
            let key = child_key(&actor.id, &r.execution_id);
            let execution: Option<pb::Execution> =
                self.records.get(Table::Executions, &key).await?;
            if execution.is_none() {
                return Err(AbacoError::not_found("execution", &r.execution_id));
            }
            let results = self
                .records
                .get_blob(Table::Results, &key)
                .await?
                .unwrap_or_default();
            Ok(pb::ExecutionResults {
                execution_id: r.execution_id,
                results: results.to_vec(),
            })
        })
        .await
    }
}
