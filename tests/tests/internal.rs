//! The platform's own control endpoints (spawners, workers) answer only the platform, and a
//! platform set up to trust a header identity will not listen where others could reach it.

#![allow(clippy::unwrap_used)]

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use abaco::pb::{
    self, admin_client::AdminClient, spawner_client::SpawnerClient,
    worker_control_client::WorkerControlClient,
};
use abaco_tests::{BackendKind, Platform, binary, free_addr, on_both_backends, steps::eventually};
use tonic::{Code, metadata::MetadataValue};

on_both_backends!(control_endpoints_answer_only_the_platform);

fn with_metadata<T>(message: T, pairs: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (key, value) in pairs {
        request
            .metadata_mut()
            .insert(*key, MetadataValue::try_from(*value).unwrap());
    }
    request
}

async fn control_endpoints_answer_only_the_platform(platform: Platform) {
    let actor = abaco_tests::steps::register(
        &platform.api,
        serde_json::json!({"image": "abaco/sample-echo"}),
    )
    .await;
    let mut admin = AdminClient::connect(format!("http://{}", platform.service_addr("admin")))
        .await
        .unwrap();
    let worker = eventually(
        Duration::from_secs(30),
        "a worker with a control endpoint",
        || {
            let mut admin = admin.clone();
            let actor = actor.clone();
            async move {
                let listed = admin
                    .list_workers(with_metadata(
                        pb::ListWorkersRequest {
                            actor_id: actor,
                            ..Default::default()
                        },
                        &[],
                    ))
                    .await
                    .ok()?
                    .into_inner();
                listed
                    .workers
                    .into_iter()
                    .find(|worker| !worker.control_addr.is_empty())
            }
        },
    )
    .await;
    let mut control = WorkerControlClient::connect(format!("http://{}", worker.control_addr))
        .await
        .unwrap();
    let refused = control
        .status(pb::WorkerStatusRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let wrong = control
        .stop(with_metadata(
            pb::StopRequest { graceful: false },
            &[("x-abaco-internal-token", "guessed")],
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    // The worker was not stopped by either call.
    let listed = admin
        .list_workers(with_metadata(
            pb::ListWorkersRequest {
                actor_id: actor.clone(),
                ..Default::default()
            },
            &[],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.workers.iter().any(|w| w.id == worker.id));

    match platform.kind {
        BackendKind::Embedded => {
            // The user-facing port serves no control service at all.
            let mut spawner = SpawnerClient::connect(format!("http://{}", platform.grpc_addr))
                .await
                .unwrap();
            let absent = spawner
                .status(pb::SpawnerStatusRequest {})
                .await
                .unwrap_err();
            assert_eq!(absent.code(), Code::Unimplemented);
        }
        BackendKind::Distributed => {
            let addr = platform.component_addr("spawner").unwrap();
            let mut spawner = SpawnerClient::connect(format!("http://{addr}"))
                .await
                .unwrap();
            let refused = spawner
                .status(pb::SpawnerStatusRequest {})
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::Unauthenticated);
            let admitted = spawner
                .status(with_metadata(
                    pb::SpawnerStatusRequest {},
                    &[("x-abaco-internal-token", platform.internal_token())],
                ))
                .await
                .unwrap();
            assert!(admitted.into_inner().capacity > 0);
            // Refusals are logged, for operators to see who tried.
            assert!(
                platform
                    .log_tail(1000)
                    .contains("refused a control call without the internal token")
            );
        }
    }
}

/// Starts `abaco <subcommand>` with `env` and waits for it to exit; its status and stderr.
fn refused_start(subcommand: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary())
        .arg(subcommand)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ABACO_DATA_DIR", dir.path())
        .env("ABACO_GRPC_ADDR", free_addr().to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("abaco {subcommand} kept running with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn header_mode_will_not_listen_beyond_loopback() {
    let open = format!("0.0.0.0:{}", free_addr().port());
    for subcommand in ["up", "gateway"] {
        let (ok, stderr) = refused_start(subcommand, &[("ABACO_HTTP_ADDR", &open)]);
        assert!(!ok, "abaco {subcommand} started in header mode on {open}");
        assert!(
            stderr.contains("loopback") && stderr.contains("auth = jwt"),
            "{stderr}"
        );
    }
}

#[test]
fn a_spawner_without_the_internal_token_listens_on_loopback_only() {
    let open = format!("0.0.0.0:{}", free_addr().port());
    let (ok, stderr) = refused_start(
        "spawner",
        &[("ABACO_BACKEND", "distributed"), ("ABACO_GRPC_ADDR", &open)],
    );
    assert!(!ok, "a spawner without a token listened on {open}");
    assert!(stderr.contains("internal_token"), "{stderr}");
}

#[test]
fn jwt_mode_needs_keys_and_distributed_jwt_needs_the_internal_token() {
    let (ok, stderr) = refused_start(
        "up",
        &[
            ("ABACO_AUTH", "jwt"),
            ("ABACO_HTTP_ADDR", &free_addr().to_string()),
        ],
    );
    assert!(!ok && stderr.contains("jwt_hs256_secret"), "{stderr}");
    let (ok, stderr) = refused_start(
        "registration",
        &[
            ("ABACO_AUTH", "jwt"),
            ("ABACO_BACKEND", "distributed"),
            ("ABACO_JWT_HS256_SECRET", abaco_tests::JWT_SECRET),
        ],
    );
    assert!(!ok && stderr.contains("internal_token"), "{stderr}");
}
