//! Runs that cannot hurt their host, against the real Docker engine on both backends: what a
//! run is allowed by default, a fork bomb and a memory hog contained while other actors run
//! on, what `privileged` and `useContainerUid` change, administrators' mounts, and text
//! messages at the kernel's limit on one environment variable.

#![allow(clippy::unwrap_used)]

use std::{collections::HashMap, time::Duration};

use abaco_tests::{
    Api, BackendKind, Platform, on_both_backends,
    steps::{finished, logs_of, register, send},
};
use serde_json::{Value, json};

on_both_backends!(
    runs_have_no_capabilities_no_new_privileges_and_finite_limits,
    a_fork_bomb_is_held_at_the_process_limit_while_other_actors_run_on,
    a_memory_hog_ends_error_saying_it_ran_out_of_memory,
    privileged_runs_get_the_docker_socket_and_only_admins_register_them,
    text_messages_are_refused_past_what_an_environment_variable_holds,
);

const LIMIT: Duration = Duration::from_secs(90);

/// The `name=value` lines a sample-inspect run printed.
async fn inspect(api: &Api, actor: &str, message: &str) -> HashMap<String, String> {
    let execution = send(api, actor, "", "text/plain", message.as_bytes().to_vec()).await;
    let record = finished(api, actor, &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    logs_of(api, actor, &execution)
        .await
        .lines()
        .flat_map(|line| line.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

async fn runs_have_no_capabilities_no_new_privileges_and_finite_limits(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let seen = inspect(api, &actor, "look").await;
    assert_eq!(seen["NoNewPrivs"], "1", "{seen:?}");
    assert_eq!(seen["CapEff"], "0000000000000000", "{seen:?}");
    assert_eq!(seen["pids.max"], "512", "{seen:?}");
    assert_eq!(seen["memory.max"], (2u64 << 30).to_string(), "{seen:?}");
    assert_eq!(seen["pid1"], "docker-init", "{seen:?}");
    assert_eq!(seen["docker.sock"], "absent", "{seen:?}");
    // The actor's own memory limit wins over the default.
    let small = register(
        api,
        json!({"image": "abaco/sample-inspect", "memLimit": "64m"}),
    )
    .await;
    assert_eq!(
        inspect(api, &small, "look").await["memory.max"],
        (64u64 << 20).to_string()
    );
}

async fn a_fork_bomb_is_held_at_the_process_limit_while_other_actors_run_on(platform: Platform) {
    let api = &platform.api;
    let bomb = register(api, json!({"image": "abaco/sample-hog"})).await;
    let echo = register(api, json!({"image": "abaco/sample-echo"})).await;
    let bombing = send(api, &bomb, "", "text/plain", b"fork".to_vec()).await;
    // While it bombs, another actor's runs go through.
    for i in 0..3 {
        let run = send(
            api,
            &echo,
            "",
            "text/plain",
            format!("beside {i}").into_bytes(),
        )
        .await;
        let record = finished(api, &echo, &run, LIMIT).await;
        assert_eq!(record["status"], "COMPLETE", "{record}");
    }
    let record = finished(api, &bomb, &bombing, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    let logs = logs_of(api, &bomb, &bombing).await;
    let processes: u32 = logs
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("processes="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {logs}"));
    assert!(
        processes <= 512,
        "{processes} processes: the limit did not hold"
    );
    assert!(logs.contains("refused_forks="), "{logs}");
    assert!(
        !logs.contains("refused_forks=0 "),
        "the bomb never met the limit: {logs}"
    );
}

async fn a_memory_hog_ends_error_saying_it_ran_out_of_memory(platform: Platform) {
    let api = &platform.api;
    let hog = register(api, json!({"image": "abaco/sample-hog", "memLimit": "32m"})).await;
    let run = send(api, &hog, "", "text/plain", b"memory".to_vec()).await;
    let record = finished(api, &hog, &run, LIMIT).await;
    assert_eq!(record["status"], "ERROR", "{record}");
    assert_eq!(record["exitCode"], 137, "{record}");
    let message = record["statusMessage"].as_str().unwrap_or_default();
    assert!(message.contains("out of memory"), "{record}");
    assert!(message.contains(&(32u64 << 20).to_string()), "{record}");
}

async fn privileged_runs_get_the_docker_socket_and_only_admins_register_them(platform: Platform) {
    let spec = json!({"image": "abaco/sample-inspect", "privileged": true});
    platform
        .api_as("bob")
        .post("/actors", &spec)
        .await
        .unwrap()
        .error(403, "privileged");
    let root = platform.api_as("root");
    let actor = register(&root, spec).await;
    let execution = send(&root, &actor, "", "text/plain", b"look".to_vec()).await;
    let record = finished(&root, &actor, &execution, LIMIT).await;
    match engine_runs_privileged() {
        Ok(()) => {
            assert_eq!(record["status"], "COMPLETE", "{record}");
            let logs = logs_of(&root, &actor, &execution).await;
            assert!(logs.contains("docker.sock=present"), "{logs}");
            assert!(!logs.contains("CapEff=0000000000000000"), "{logs}");
            // Its process limit still holds.
            assert!(logs.contains("pids.max=512"), "{logs}");
        }
        Err(reason) => {
            // An engine that itself runs without every capability (as inside some sandboxes)
            // cannot start a privileged container at all: the run says so in Docker's words.
            eprintln!("this engine cannot run privileged containers: {reason}");
            assert_eq!(record["status"], "ERROR", "{record}");
            let message = record["statusMessage"].as_str().unwrap_or_default();
            assert!(message.contains(reason.trim()), "{record}");
        }
    }
}

/// Whether this Docker engine can start a privileged container; Docker's reason if not.
fn engine_runs_privileged() -> Result<(), String> {
    let output = std::process::Command::new("docker")
        .args(["run", "--rm", "--privileged", "--entrypoint", "/bin/true"])
        .arg("abaco/sample-inspect")
        .output()
        .unwrap();
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    // "unable to apply caps: operation not permitted", without the CLI's own wording.
    Err(stderr
        .split(": ")
        .skip_while(|part| !part.contains("unable to"))
        .take(2)
        .collect::<Vec<_>>()
        .join(": "))
}

async fn text_messages_are_refused_past_what_an_environment_variable_holds(platform: Platform) {
    let api = &platform.api;
    let actor = register(api, json!({"image": "abaco/sample-echo"})).await;
    // Exactly the most `MSG=` can carry: accepted, and the run gets all of it.
    let fits = "x".repeat(131_067);
    let run = send(api, &actor, "", "text/plain", fits.clone().into_bytes()).await;
    let record = finished(api, &actor, &run, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert!(
        logs_of(api, &actor, &run)
            .await
            .contains(&format!("MSG={fits}"))
    );
    // One byte more: refused at once, naming the limit and the way around it.
    for content_type in ["text/plain", "application/json"] {
        let body = if content_type == "text/plain" {
            "x".repeat(131_068)
        } else {
            Value::String("x".repeat(131_066)).to_string()
        };
        let refused = api
            .raw(
                reqwest::Method::POST,
                &format!("/actors/{actor}/messages"),
                content_type,
                body.into_bytes(),
            )
            .await
            .unwrap();
        refused.error(413, "131067");
        assert!(
            refused.message().contains("octet-stream"),
            "{}",
            refused.text
        );
    }
    // Binary data of any size within the body limit goes through the FIFO.
    let big = vec![7u8; 300_000];
    let run = send(api, &actor, "", "application/octet-stream", big).await;
    assert_eq!(
        finished(api, &actor, &run, LIMIT).await["status"],
        "COMPLETE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_the_user_the_root_filesystem_and_the_mounts_embedded() {
    settings_change_the_user_the_root_filesystem_and_the_mounts(BackendKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_the_user_the_root_filesystem_and_the_mounts_distributed() {
    settings_change_the_user_the_root_filesystem_and_the_mounts(BackendKind::Distributed).await;
}

async fn settings_change_the_user_the_root_filesystem_and_the_mounts(kind: BackendKind) {
    let shared = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(shared.path().join("anonymous")).unwrap();
    std::fs::write(shared.path().join("anonymous/hello"), "from the host").unwrap();
    let mounts = format!(
        r#"[{{host_path="{}/{{username}}", container_path="/data", mode="ro"}}]"#,
        shared.path().display()
    );
    let platform = Platform::start_with_settings(
        kind,
        &[
            ("ABACO_RUN_USER", "4321:4321"),
            ("ABACO_RUN_READ_ONLY_ROOTFS", "true"),
            ("ABACO_MOUNTS", &mounts),
        ],
    )
    .await;
    let api = &platform.api;
    let plain = register(api, json!({"image": "abaco/sample-inspect"})).await;
    let seen = inspect(api, &plain, "/data/hello").await;
    assert_eq!(seen["uid"], "4321", "{seen:?}");
    assert_eq!(seen["rootfs"], "read-only", "{seen:?}");
    assert_eq!(seen["file"], "from", "{seen:?}");
    // useContainerUid keeps the image's user (root in this image).
    let own = register(
        api,
        json!({"image": "abaco/sample-inspect", "useContainerUid": true}),
    )
    .await;
    assert_eq!(inspect(api, &own, "look").await["uid"], "0");
}
