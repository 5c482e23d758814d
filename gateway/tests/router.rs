//! The router against in-test fakes of the gRPC services: envelopes, statuses, both cases,
//! message bodies, the caller forwarded.

#![allow(clippy::unwrap_used)]

mod common;

use abaco::settings::Case;
use abaco_gateway::{Gateway, serve};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

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
        assert_eq!(actor["maxCpus"], 1_500_000_000u64);
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
    // These reach their RPCs (the fake answers each with its stock error).
    let routed = [
        get("/actors/search/executions"),
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
        // The fake answers UNIMPLEMENTED, which the shared table maps to 501.
        let message = call(&router, request)
            .await
            .error(StatusCode::NOT_IMPLEMENTED);
        assert_eq!(message, "not in the fake", "{uri}");
    }
    // The fake serves no Configs at all: the route reached the service, which tonic answers
    // for with UNIMPLEMENTED.
    call(&router, get("/actors/configs"))
        .await
        .error(StatusCode::NOT_IMPLEMENTED);
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
