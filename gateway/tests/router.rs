//! The router against in-test fakes of the gRPC services, served by tonic on 127.0.0.1:0.
//! The real services are tested in their own crates; these tests check the translation.

#![allow(clippy::unwrap_used)]

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
use abaco_gateway::{Gateway, serve};
use axum::{Router, body::Body};
use http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tonic::{Response, Status};
use tower::ServiceExt;

type Answer<T> = Result<Response<T>, Status>;

/// What the fake services saw.
#[derive(Debug, Clone, Default)]
struct Fake {
    users: Arc<Mutex<Vec<String>>>,
    /// Every metadata entry of the last call, for checks of what the gateway forwards.
    metadata: Arc<Mutex<Vec<(String, String)>>>,
    permissions: Arc<Mutex<Vec<pb::SetPermissionRequest>>>,
    nonces: Arc<Mutex<Vec<pb::CreateNonceRequest>>>,
    sent: Arc<Mutex<Vec<pb::SendMessageRequest>>>,
    specs: Arc<Mutex<Vec<pb::ActorSpec>>>,
}

impl Fake {
    fn saw<T>(&self, request: &tonic::Request<T>) {
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

    fn last_metadata(&self, key: &str) -> Option<String> {
        self.metadata
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn last_user(&self) -> String {
        self.users.lock().unwrap().last().cloned().unwrap()
    }
}

fn sample_actor(id: &str, owner: &str) -> pb::Actor {
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

fn fake_error<T>() -> Answer<T> {
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
        _: tonic::Request<pb::ActorRef>,
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

fn settings(grpc_addr: std::net::SocketAddr, case: Case) -> Settings {
    Settings {
        grpc_addr,
        case,
        api_version: "test-1".into(),
        ..Settings::default()
    }
}

/// A router over fresh fakes.
async fn start(case: Case) -> (Router, Fake) {
    start_with(|addr| settings(addr, case)).await
}

/// A router over fresh fakes, with the settings `make` gives for the fakes' address.
async fn start_with(make: impl FnOnce(std::net::SocketAddr) -> Settings) -> (Router, Fake) {
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

struct Answered {
    status: StatusCode,
    content_type: String,
    bytes: bytes::Bytes,
}

impl Answered {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.bytes))
    }

    /// The envelope of an error, checked for its shape; returns the message.
    fn error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{:?}", self.bytes);
        let body = self.json();
        assert_eq!(body["status"], "error");
        assert_eq!(body["result"], Value::Null);
        assert_eq!(body["version"], "test-1");
        assert!(self.content_type.starts_with("application/json"));
        body["message"].as_str().unwrap().to_string()
    }

    /// The result of a successful envelope.
    fn result(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.bytes);
        let body = self.json();
        assert_eq!(body["status"], "success");
        assert_eq!(body["version"], "test-1");
        body["result"].clone()
    }
}

async fn call(router: &Router, request: Request<Body>) -> Answered {
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

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn unknown_route_is_a_404_envelope() {
    let (router, _) = start(Case::Camel).await;
    for uri in ["/nope", "/actors/a1/bogus", "/v3/nope", "/v3", "/"] {
        let message = call(&router, get(uri)).await.error(StatusCode::NOT_FOUND);
        assert_eq!(message, "no such route", "{uri}");
    }
}

#[tokio::test]
async fn wrong_method_is_a_405_envelope() {
    let (router, _) = start(Case::Camel).await;
    for (method, uri) in [
        ("PATCH", "/actors"),
        ("DELETE", "/v3/actors"),
        ("POST", "/actors/a1/executions"),
        ("PUT", "/actors/aliases"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        call(&router, request)
            .await
            .error(StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[tokio::test]
async fn oversize_body_is_a_413_envelope() {
    let (router, fake) = start(Case::Camel).await;
    let big = vec![b'x'; 10 * 1024 * 1024];
    // Declared length: refused before routing.
    let declared = Request::post("/actors")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    call(&router, declared)
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    // No declared length: refused while the handler reads it.
    for uri in ["/actors", "/actors/a1/messages"] {
        let streamed = post(uri, "text/plain", big.clone());
        call(&router, streamed)
            .await
            .error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert!(fake.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope() {
    let (router, _) = start(Case::Camel).await;
    let message = call(
        &router,
        post("/actors", "application/json", r#"{"image": "#),
    )
    .await
    .error(StatusCode::BAD_REQUEST);
    assert!(message.starts_with("malformed JSON"), "{message}");
}

#[tokio::test]
async fn bad_fields_are_named_in_a_400_envelope() {
    let (router, fake) = start(Case::Camel).await;
    for (body, expected) in [
        (json!({"colour": "red"}), "unknown field \"colour\""),
        (json!({"stateless": "yes"}), "stateless must be a boolean"),
        (
            json!({"max_workers": -1}),
            "max_workers must be a non-negative integer",
        ),
    ] {
        let message = call(
            &router,
            post("/actors", "application/json", body.to_string()),
        )
        .await
        .error(StatusCode::BAD_REQUEST);
        assert_eq!(message, expected);
    }
    assert!(fake.specs.lock().unwrap().is_empty());
}

#[tokio::test]
async fn grpc_not_found_is_a_404_envelope() {
    let (router, _) = start(Case::Camel).await;
    let message = call(&router, get("/actors/missing"))
        .await
        .error(StatusCode::NOT_FOUND);
    assert_eq!(message, "actor not found: missing");
}

#[tokio::test]
async fn grpc_internal_is_a_500_without_detail() {
    let (router, _) = start(Case::Camel).await;
    let answered = call(&router, get("/actors/boom")).await;
    assert_eq!(
        answered.error(StatusCode::INTERNAL_SERVER_ERROR),
        "internal error"
    );
    let text = String::from_utf8_lossy(&answered.bytes);
    assert!(
        !text.contains("secret") && !text.contains("redis"),
        "{text}"
    );
}

#[tokio::test]
async fn unreachable_service_is_a_503_envelope() {
    // A port that was free a moment ago: nothing listens there.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let router = Gateway::connect(&settings(addr, Case::Camel))
        .unwrap()
        .router();
    let message = call(&router, get("/actors"))
        .await
        .error(StatusCode::SERVICE_UNAVAILABLE);
    assert!(!message.contains("127.0.0.1"), "{message}");
}

#[tokio::test]
async fn create_and_get_in_camel_case() {
    let (router, fake) = start(Case::Camel).await;
    let body = json!({
        "image": "abaco/test", "max_workers": 4, "defaultEnvironment": {"my_key": "v"},
        "memLimit": "1g", "hints": null
    });
    let mut request = post("/actors", "application/json", body.to_string());
    request
        .headers_mut()
        .insert(header::HOST, "gw.example:8000".parse().unwrap());
    let actor = call(&router, request).await.result();
    assert_eq!(actor["id"], "act1");
    assert_eq!(actor["maxWorkers"], 4);
    assert_eq!(actor["defaultEnvironment"], json!({"my_key": "v"}));
    assert_eq!(actor["status"], "READY");
    assert_eq!(
        actor["_links"]["self"],
        "http://gw.example:8000/actors/act1"
    );
    assert_eq!(
        actor["_links"]["owner"],
        "http://gw.example:8000/profiles/anonymous"
    );
    let spec = fake.specs.lock().unwrap()[0].clone();
    assert_eq!(spec.mem_limit, Some(1 << 30));
    assert!(spec.has_default_environment && !spec.has_hints);

    for uri in ["/actors/act1", "/v3/actors/act1"] {
        let actor = call(&router, get(uri)).await.result();
        assert_eq!(actor["memLimit"], "512m");
        assert_eq!(actor["maxCpus"], 1.5);
        assert_eq!(actor["lastUpdateTime"], Value::Null);
        assert!(actor.get("statusMessage").is_some());
    }
    let list = call(&router, get("/actors")).await.result();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn create_and_get_in_snake_case() {
    let (router, _) = start(Case::Snake).await;
    let body =
        json!({"image": "abaco/test", "maxWorkers": 2, "default_environment": {"myKey": "v"}});
    let actor = call(
        &router,
        post("/actors", "application/json", body.to_string()),
    )
    .await
    .result();
    assert_eq!(actor["max_workers"], 2);
    // The user's keys stay as the user wrote them.
    assert_eq!(actor["default_environment"], json!({"myKey": "v"}));
    assert!(actor.get("maxWorkers").is_none() && actor.get("statusMessage").is_none());
    let actor = call(&router, get("/actors/act1")).await.result();
    assert_eq!(actor["use_container_uid"], false);
    assert_eq!(actor["last_update_time"], Value::Null);
    let state = call(&router, get("/actors/act1/state")).await.result();
    assert_eq!(
        state,
        json!({"actor_id": "act1", "state": {"someKey": {"innerKey": 1}}})
    );
}

#[tokio::test]
async fn caller_identity_is_forwarded() {
    let (router, fake) = start(Case::Camel).await;
    let request = Request::get("/actors/act1")
        .header("X-Abaco-User", "bob.smith@tacc")
        .body(Body::empty())
        .unwrap();
    call(&router, request).await.result();
    assert_eq!(fake.last_user(), "bob.smith@tacc");

    call(&router, get("/actors/act1")).await.result();
    assert_eq!(fake.last_user(), "anonymous");

    for bad in ["", "has space", &"x".repeat(65), "semi;colon"] {
        let request = Request::get("/actors/act1")
            .header("X-Abaco-User", bad)
            .body(Body::empty())
            .unwrap();
        let message = call(&router, request).await.error(StatusCode::BAD_REQUEST);
        assert!(message.contains("X-Abaco-User"), "{message}");
    }
    assert_eq!(fake.users.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn static_routes_win_over_actor_ids() {
    let (router, _) = start(Case::Snake).await;
    let utilization = call(&router, get("/actors/utilization")).await.result();
    assert_eq!(utilization["busy_workers"], 2);
    for (uri, feature) in [
        ("/actors/configs", "configs"),
        ("/actors/search/executions", "search"),
    ] {
        let message = call(&router, get(uri))
            .await
            .error(StatusCode::NOT_IMPLEMENTED);
        assert_eq!(message, format!("{feature} is not implemented yet"));
    }
    // These reach their RPCs (the fake answers each with its stock error).
    let routed = [
        Request::get("/actors/admin").body(Body::empty()).unwrap(),
        Request::get("/actors/admin/workers")
            .body(Body::empty())
            .unwrap(),
        Request::get("/actors/admin/executions")
            .body(Body::empty())
            .unwrap(),
        Request::delete("/actors/act1/executions/ex1")
            .body(Body::empty())
            .unwrap(),
        get("/actors/aliases"),
        get("/v3/actors/aliases/my-alias"),
        get("/actors/aliases/my-alias/permissions"),
        get("/actors/aliases/my-alias/nonces/t_n1"),
        get("/actors/act1/nonces"),
        get("/actors/act1/permissions"),
    ];
    for request in routed {
        let uri = request.uri().to_string();
        // The fake answers UNIMPLEMENTED, which the shared table maps to 501; the message
        // tells it apart from the gateway's own "not implemented yet".
        let message = call(&router, request)
            .await
            .error(StatusCode::NOT_IMPLEMENTED);
        assert_eq!(message, "not in the fake", "{uri}");
    }
}

#[tokio::test]
async fn messages_by_content_type() {
    let (router, fake) = start(Case::Camel).await;
    let cases: [(&str, &[u8], &[u8], &str); 4] = [
        (
            "application/json; charset=utf-8",
            br#"{"a": 1}"#,
            br#"{"a": 1}"#,
            "application/json",
        ),
        (
            "application/x-www-form-urlencoded",
            b"message=hello+world&x=1",
            b"hello world",
            "str",
        ),
        (
            "application/octet-stream",
            &[0, 159, 255],
            &[0, 159, 255],
            "application/octet-stream",
        ),
        ("text/plain", b"plain text", b"plain text", "str"),
    ];
    for (content_type, body, expected, kind) in cases {
        let uri = "/actors/act1/messages?FOO=bar&x-nonce=default_0123456789abcdefghijkl&_abaco_synchronous=false";
        let result = call(&router, post(uri, content_type, body.to_vec()))
            .await
            .result();
        assert_eq!(result["executionId"], "ex1");
        assert_eq!(
            result["_links"]["self"],
            "http://127.0.0.1:8000/actors/act1/executions/ex1"
        );
        let sent = fake.sent.lock().unwrap().pop().unwrap();
        assert_eq!(sent.body, expected, "{content_type}");
        assert_eq!(sent.content_type, kind);
        assert_eq!(sent.environment.len(), 1);
        assert_eq!(sent.environment["FOO"], "bar");
        // The nonce travels to the service that redeems it, as metadata, not as a variable.
        assert_eq!(
            fake.last_metadata("x-nonce").as_deref(),
            Some("default_0123456789abcdefghijkl")
        );
    }
    for (uri, content_type, body, expected) in [
        (
            "/actors/act1/messages",
            "application/json",
            &b"{oops"[..],
            "malformed JSON",
        ),
        (
            "/actors/act1/messages",
            "text/plain",
            b"",
            "message must not be empty",
        ),
        (
            "/actors/act1/messages",
            "application/x-www-form-urlencoded",
            b"x=1",
            "form field",
        ),
        (
            "/actors/act1/messages",
            "text/plain",
            &[0xff, 0xfe],
            "UTF-8",
        ),
        (
            "/actors/act1/messages?1BAD=x",
            "text/plain",
            b"hi",
            "\"1BAD\"",
        ),
    ] {
        let message = call(&router, post(uri, content_type, body.to_vec()))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert!(message.contains(expected), "{message}");
    }
    let count = call(&router, get("/actors/act1/messages")).await.result();
    assert_eq!(count["messages"], 3);
}

#[tokio::test]
async fn results_are_raw_bytes() {
    let (router, _) = start(Case::Camel).await;
    let answered = call(&router, get("/actors/act1/executions/ex1/results")).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.content_type, "application/octet-stream");
    assert_eq!(&answered.bytes[..], &[0, 1, 2, 255]);
    // Failures of the same route are still envelopes.
    call(&router, get("/actors/act1/executions/ex1/logs"))
        .await
        .error(StatusCode::NOT_IMPLEMENTED);
}

#[tokio::test]
async fn serve_answers_then_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let gateway = Gateway::connect(&settings(addr, Case::Camel)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, gateway, async {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(http_addr).await.unwrap();
    stream
        .write_all(b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(answer.contains(r#""status":"error""#), "{answer}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn sharing_bodies_are_read_from_json_and_forms() {
    let (router, fake) = start(Case::Camel).await;
    let answer = call(
        &router,
        post(
            "/actors/act1/permissions",
            "application/json",
            r#"{"user": "bob", "level": "execute"}"#,
        ),
    )
    .await
    .result();
    assert_eq!(answer, json!({"owner": "UPDATE", "bob": "EXECUTE"}));
    call(
        &router,
        post(
            "/actors/aliases/al/permissions",
            "application/x-www-form-urlencoded",
            "user=ABACO_WORLD&level=READ",
        ),
    )
    .await
    .result();
    let seen = fake.permissions.lock().unwrap().clone();
    assert_eq!(
        seen[1].target,
        Some(pb::AccessTarget {
            target: Some(pb::access_target::Target::Alias("al".into()))
        })
    );
    assert_eq!(seen[1].level, pb::PermissionLevel::Read as i32);

    let nonce = call(
        &router,
        post(
            "/actors/act1/nonces",
            "application/x-www-form-urlencoded",
            "maxUses=5&level=READ",
        ),
    )
    .await
    .result();
    assert_eq!(nonce["maxUses"], 5);
    assert_eq!(nonce["level"], "READ");
    assert_eq!(nonce["alias"], Value::Null);
    assert!(
        nonce["_links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/actors/act1/nonces/t_n1")
    );

    let message = call(
        &router,
        post(
            "/actors/act1/permissions",
            "application/json",
            r#"{"user": "bob"}"#,
        ),
    )
    .await
    .error(StatusCode::BAD_REQUEST);
    assert_eq!(message, "field \"level\" is required");
}

#[tokio::test]
async fn jwt_callers_are_verified_at_the_edge_and_vouched_for() {
    const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";
    let (router, fake) = start_with(|addr| Settings {
        auth: abaco::settings::AuthMode::Jwt,
        jwt_hs256_secret: Some(abaco::secret::Secret::new(SECRET)),
        internal_token: Some(abaco::secret::Secret::new("tok-123")),
        admins: vec!["root".into()],
        ..settings(addr, Case::Camel)
    })
    .await;
    // No token, or only a user header: 401 in the envelope, with the scheme to use.
    for request in [
        get("/actors/act1"),
        Request::get("/actors/act1")
            .header("X-Abaco-User", "root")
            .body(Body::empty())
            .unwrap(),
    ] {
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"abaco\""
        );
    }
    assert!(
        fake.users.lock().unwrap().is_empty(),
        "nothing reached a service"
    );
    let minter = abaco_auth::AccessTokenMinter::new(
        &abaco::secret::Secret::new(SECRET),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let token = minter.mint("tacc", "root", "act1").unwrap();
    let request = Request::get("/actors/act1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    call(&router, request).await.result();
    assert_eq!(fake.last_user(), "root");
    assert_eq!(
        fake.last_metadata("x-abaco-tenant").as_deref(),
        Some("tacc")
    );
    // root administers the default tenant, not tacc.
    assert_eq!(
        fake.last_metadata("x-abaco-role").as_deref(),
        Some("regular")
    );
    assert_eq!(
        fake.last_metadata("x-abaco-internal-token").as_deref(),
        Some("tok-123")
    );
    assert_eq!(
        fake.last_metadata("authorization"),
        None,
        "the token stays at the edge"
    );
}
