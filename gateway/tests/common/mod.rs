//! In-test fakes of the gRPC services, served by tonic on 127.0.0.1:0, and the calls the
//! router tests make through the gateway. The real services are tested in their own crates;
//! these tests check the translation.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::{Arc, Mutex};

use abaco::{
    pb::{
        self,
        access_server::{Access, AccessServer},
        admin_server::{Admin, AdminServer},
        messages_server::{Messages, MessagesServer},
        registration_server::{Registration, RegistrationServer},
    },
    settings::{Case, Settings},
};
use abaco_gateway::Gateway;
use axum::{Router, body::Body};
use http::{Request, StatusCode, header};
use serde_json::Value;
use tonic::{Response, Status};
use tower::ServiceExt;

pub type Answer<T> = Result<Response<T>, Status>;

/// What the fake services saw.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    pub users: Arc<Mutex<Vec<String>>>,
    /// Every metadata entry of the last call, for checks of what the gateway forwards.
    pub metadata: Arc<Mutex<Vec<(String, String)>>>,
    pub permissions: Arc<Mutex<Vec<pb::SetPermissionRequest>>>,
    pub nonces: Arc<Mutex<Vec<pb::CreateNonceRequest>>>,
    pub sent: Arc<Mutex<Vec<pb::SendMessageRequest>>>,
    pub specs: Arc<Mutex<Vec<pb::ActorSpec>>>,
}

impl Fake {
    pub fn saw<T>(&self, request: &tonic::Request<T>) {
        let user = request
            .metadata()
            .get("x-abaco-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("<none>")
            .to_string();
        self.users.lock().unwrap().push(user);
        *self.metadata.lock().unwrap() = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
    }

    pub fn last_metadata(&self, key: &str) -> Option<String> {
        self.metadata
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    pub fn last_user(&self) -> String {
        self.users.lock().unwrap().last().cloned().unwrap()
    }
}

pub fn sample_actor(id: &str, owner: &str) -> pb::Actor {
    pb::Actor {
        id: id.into(),
        image: "abaco/test".into(),
        owner: owner.into(),
        status: pb::ActorStatus::Ready as i32,
        default_environment: [("myKey".to_string(), "v".to_string())].into(),
        stateless: true,
        max_workers: 2,
        mem_limit: 512 << 20,
        max_cpus: 1_500_000_000,
        revision: 1,
        create_time: "2024-01-01T00:00:00Z".into(),
        ..Default::default()
    }
}

pub fn fake_error<T>() -> Answer<T> {
    Err(Status::unimplemented("not in the fake"))
}

#[tonic::async_trait]
impl Registration for Fake {
    async fn create_actor(&self, r: tonic::Request<pb::CreateActorRequest>) -> Answer<pb::Actor> {
        self.saw(&r);
        let owner = self.last_user();
        let spec = r.into_inner().spec.unwrap_or_default();
        self.specs.lock().unwrap().push(spec.clone());
        let mut actor = sample_actor("act1", &owner);
        actor.image = spec.image.unwrap_or_default();
        actor.max_workers = spec.max_workers.unwrap_or(1);
        actor.default_environment = spec.default_environment;
        Ok(Response::new(actor))
    }
    async fn get_actor(&self, r: tonic::Request<pb::GetActorRequest>) -> Answer<pb::Actor> {
        self.saw(&r);
        match r.get_ref().actor_id.as_str() {
            "missing" => Err(Status::not_found("actor not found: missing")),
            "boom" => Err(Status::internal("redis://user:secret@db:6379 exploded")),
            id => Ok(Response::new(sample_actor(id, "alice"))),
        }
    }
    async fn list_actors(
        &self,
        r: tonic::Request<pb::ListActorsRequest>,
    ) -> Answer<pb::ListActorsResponse> {
        self.saw(&r);
        Ok(Response::new(pb::ListActorsResponse {
            actors: vec![sample_actor("act1", "alice")],
            ..Default::default()
        }))
    }
    async fn update_actor(&self, _: tonic::Request<pb::UpdateActorRequest>) -> Answer<pb::Actor> {
        fake_error()
    }
    async fn delete_actor(
        &self,
        _: tonic::Request<pb::DeleteActorRequest>,
    ) -> Answer<pb::DeleteActorResponse> {
        fake_error()
    }
    async fn list_executions(
        &self,
        _: tonic::Request<pb::ListExecutionsRequest>,
    ) -> Answer<pb::ExecutionSummary> {
        fake_error()
    }
    async fn get_execution(
        &self,
        _: tonic::Request<pb::GetExecutionRequest>,
    ) -> Answer<pb::Execution> {
        fake_error()
    }
    async fn get_execution_logs(
        &self,
        _: tonic::Request<pb::GetExecutionRequest>,
    ) -> Answer<pb::ExecutionLogs> {
        fake_error()
    }
    async fn force_quit_execution(
        &self,
        _: tonic::Request<pb::GetExecutionRequest>,
    ) -> Answer<pb::Execution> {
        fake_error()
    }
    async fn get_state(&self, r: tonic::Request<pb::GetStateRequest>) -> Answer<pb::ActorState> {
        Ok(Response::new(pb::ActorState {
            actor_id: r.into_inner().actor_id,
            state_json: r#"{"someKey": {"innerKey": 1}}"#.into(),
        }))
    }
    async fn set_state(&self, _: tonic::Request<pb::SetStateRequest>) -> Answer<pb::ActorState> {
        fake_error()
    }

    async fn search(&self, _: tonic::Request<pb::SearchRequest>) -> Answer<pb::SearchResponse> {
        fake_error()
    }

    type FollowExecutionLogsStream = tokio_stream::Empty<Result<pb::LogChunk, Status>>;

    async fn follow_execution_logs(
        &self,
        _: tonic::Request<pb::GetExecutionRequest>,
    ) -> Answer<Self::FollowExecutionLogsStream> {
        fake_error()
    }
}

#[tonic::async_trait]
impl Messages for Fake {
    async fn send_message(
        &self,
        r: tonic::Request<pb::SendMessageRequest>,
    ) -> Answer<pb::SendMessageResponse> {
        self.saw(&r);
        let request = r.into_inner();
        self.sent.lock().unwrap().push(request.clone());
        Ok(Response::new(pb::SendMessageResponse {
            execution_id: "ex1".into(),
            actor_id: request.actor_id,
            msg: String::from_utf8_lossy(&request.body).into_owned(),
            executor: self.last_user(),
            repeated: false,
        }))
    }
    async fn count_messages(&self, r: tonic::Request<pb::ActorRef>) -> Answer<pb::MessageCount> {
        Ok(Response::new(pb::MessageCount {
            actor_id: r.into_inner().actor_id,
            messages: 3,
        }))
    }
    async fn purge_messages(&self, _: tonic::Request<pb::ActorRef>) -> Answer<pb::MessageCount> {
        fake_error()
    }
    async fn list_dead_letters(
        &self,
        _: tonic::Request<pb::ListDeadLettersRequest>,
    ) -> Answer<pb::DeadLetters> {
        fake_error()
    }
    async fn replay_dead_letters(
        &self,
        _: tonic::Request<pb::DeadLetterRef>,
    ) -> Answer<pb::ReplayedDeadLetters> {
        fake_error()
    }
    async fn delete_dead_letter(
        &self,
        _: tonic::Request<pb::DeadLetterRef>,
    ) -> Answer<pb::DeadLetters> {
        fake_error()
    }
    async fn get_results(
        &self,
        r: tonic::Request<pb::GetExecutionRequest>,
    ) -> Answer<pb::ExecutionResults> {
        Ok(Response::new(pb::ExecutionResults {
            execution_id: r.into_inner().execution_id,
            results: vec![0, 1, 2, 255],
        }))
    }
}

#[tonic::async_trait]
impl Access for Fake {
    async fn get_permissions(
        &self,
        _: tonic::Request<pb::AccessTarget>,
    ) -> Answer<pb::Permissions> {
        fake_error()
    }
    async fn set_permission(
        &self,
        r: tonic::Request<pb::SetPermissionRequest>,
    ) -> Answer<pb::Permissions> {
        self.saw(&r);
        let request = r.into_inner();
        self.permissions.lock().unwrap().push(request.clone());
        Ok(Response::new(pb::Permissions {
            target: request.target,
            permissions: [
                ("owner".to_string(), pb::PermissionLevel::Update as i32),
                (request.user, request.level),
            ]
            .into(),
        }))
    }
    async fn list_aliases(
        &self,
        _: tonic::Request<pb::ListAliasesRequest>,
    ) -> Answer<pb::ListAliasesResponse> {
        fake_error()
    }
    async fn create_alias(&self, _: tonic::Request<pb::PutAliasRequest>) -> Answer<pb::Alias> {
        fake_error()
    }
    async fn get_alias(&self, _: tonic::Request<pb::AliasRef>) -> Answer<pb::Alias> {
        fake_error()
    }
    async fn update_alias(&self, _: tonic::Request<pb::PutAliasRequest>) -> Answer<pb::Alias> {
        fake_error()
    }
    async fn delete_alias(&self, _: tonic::Request<pb::AliasRef>) -> Answer<pb::Alias> {
        fake_error()
    }
    async fn list_nonces(
        &self,
        _: tonic::Request<pb::AccessTarget>,
    ) -> Answer<pb::ListNoncesResponse> {
        fake_error()
    }
    async fn create_nonce(&self, r: tonic::Request<pb::CreateNonceRequest>) -> Answer<pb::Nonce> {
        self.saw(&r);
        let request = r.into_inner();
        self.nonces.lock().unwrap().push(request.clone());
        Ok(Response::new(pb::Nonce {
            id: "t_n1".into(),
            actor_id: "act1".into(),
            owner: self.last_user(),
            level: request.level.unwrap_or(pb::PermissionLevel::Execute as i32),
            max_uses: request.max_uses.unwrap_or(-1),
            remaining_uses: request.max_uses.unwrap_or(-1),
            description: request.description,
            create_time: "2024-01-01T00:00:00Z".into(),
            ..Default::default()
        }))
    }
    async fn get_nonce(&self, _: tonic::Request<pb::NonceRef>) -> Answer<pb::Nonce> {
        fake_error()
    }
    async fn delete_nonce(&self, _: tonic::Request<pb::NonceRef>) -> Answer<pb::Nonce> {
        fake_error()
    }
}

#[tonic::async_trait]
impl Admin for Fake {
    async fn list_workers(
        &self,
        _: tonic::Request<pb::ListWorkersRequest>,
    ) -> Answer<pb::ListWorkersResponse> {
        fake_error()
    }
    async fn get_worker(&self, _: tonic::Request<pb::WorkerRef>) -> Answer<pb::Worker> {
        fake_error()
    }
    async fn ensure_workers(
        &self,
        _: tonic::Request<pb::EnsureWorkersRequest>,
    ) -> Answer<pb::ListWorkersResponse> {
        fake_error()
    }
    async fn delete_worker(&self, _: tonic::Request<pb::WorkerRef>) -> Answer<pb::Worker> {
        fake_error()
    }
    async fn get_utilization(
        &self,
        _: tonic::Request<pb::UtilizationRequest>,
    ) -> Answer<pb::Utilization> {
        Ok(Response::new(pb::Utilization {
            actors: 1,
            busy_workers: 2,
            ..Default::default()
        }))
    }
    async fn list_all_actors(
        &self,
        _: tonic::Request<pb::AdminListRequest>,
    ) -> Answer<pb::ListActorsResponse> {
        fake_error()
    }
    async fn list_all_workers(
        &self,
        _: tonic::Request<pb::AdminListRequest>,
    ) -> Answer<pb::ListWorkersResponse> {
        fake_error()
    }
    async fn list_all_executions(
        &self,
        _: tonic::Request<pb::AdminListRequest>,
    ) -> Answer<pb::ListExecutionsResponse> {
        fake_error()
    }
}

pub fn settings(grpc_addr: std::net::SocketAddr, case: Case) -> Settings {
    Settings {
        grpc_addr,
        case,
        api_version: "test-1".into(),
        ..Settings::default()
    }
}

/// A router over fresh fakes.
pub async fn start(case: Case) -> (Router, Fake) {
    start_with(|addr| settings(addr, case)).await
}

/// A router over fresh fakes, with the settings `make` gives for the fakes' address.
pub async fn start_with(make: impl FnOnce(std::net::SocketAddr) -> Settings) -> (Router, Fake) {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .add_service(RegistrationServer::new(fake.clone()))
        .add_service(MessagesServer::new(fake.clone()))
        .add_service(AdminServer::new(fake.clone()))
        .add_service(AccessServer::new(fake.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    let gateway = Gateway::connect(&make(addr)).unwrap();
    (gateway.router(), fake)
}

pub struct Answered {
    pub status: StatusCode,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

impl Answered {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.bytes))
    }

    /// The envelope of an error, checked for its shape; returns the message.
    pub fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{:?}", self.bytes);
        let body = self.json();
        assert_eq!(body["status"], "error");
        assert_eq!(body["result"], Value::Null);
        assert_eq!(body["version"], "test-1");
        assert!(self.content_type.starts_with("application/json"));
        body["message"].as_str().unwrap().to_string()
    }

    /// The result of a successful envelope.
    pub fn result(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.bytes);
        let body = self.json();
        assert_eq!(body["status"], "success");
        assert_eq!(body["version"], "test-1");
        body["result"].clone()
    }
}

pub async fn call(router: &Router, request: Request<Body>) -> Answered {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answered {
        status,
        content_type,
        bytes,
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}
