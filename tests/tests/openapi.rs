//! The published description of the REST API: served at `/openapi.json` (OpenAPI 3.1) with a
//! reading page at `/docs`, and true to the API as schemathesis finds it: no request it makes
//! from the document gets a 5xx, an undocumented status or content type, or an answer that
//! breaks the schema.

#![allow(clippy::unwrap_used)]

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use abaco_tests::{BackendKind, Platform};

/// How long the schemathesis run may take before the test gives up on it.
const SCHEMATHESIS_LIMIT: Duration = Duration::from_secs(420);

/// How many runs a schemathesis that only trips on its own generator gets.
const TOOL_TRIES: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_with_its_reading_page() {
    let platform = Platform::start(BackendKind::Embedded).await;
    let client = reqwest::Client::new();
    let document: serde_json::Value = client
        .get(platform.api.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/actors", "post"),
        ("/actors/{actor_id}/messages", "post"),
        ("/actors/{actor_id}/executions/{execution_id}/logs", "get"),
        ("/actors/aliases/{alias}/nonces", "post"),
        ("/actors/{actor_id}/permissions", "post"),
        ("/actors/configs/{name}", "put"),
        ("/actors/search/{kind}", "get"),
    ] {
        assert!(
            paths[path][method]["responses"]["200"].is_object(),
            "{method} {path} is documented"
        );
    }
    let actor = &document["components"]["schemas"]["Actor"]["properties"];
    for field in ["maxWorkers", "defaultEnvironment", "_links", "cronSchedule"] {
        assert!(actor[field].is_object(), "Actor.{field} is documented");
    }

    let docs = client.get(platform.api.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(page.contains("<html") && page.contains("openapi"), "{page}");
}

/// Runs schemathesis on the document of `platform` with `extra` arguments, bounded in time;
/// panics with its report if it finds a difference. A run that found nothing but tripped on
/// its own generator (Hypothesis's "Inconsistent results", seen on a loaded machine) is run
/// again, up to `TOOL_TRIES` runs in all: that is the tool's fault, not the API's.
async fn schemathesis(platform: &Platform, extra: &[&str]) {
    let mut report = run_schemathesis(platform, extra).await;
    for _ in 1..TOOL_TRIES {
        if report.0 || !tool_fault_only(&report.1) {
            break;
        }
        eprintln!("schemathesis tripped on its own generator; running it again");
        report = run_schemathesis(platform, extra).await;
    }
    let (passed, output) = report;
    assert!(
        passed,
        "schemathesis found the API differs from its document:\n{output}\n{}",
        platform.log_tail(40)
    );
    assert!(
        output.contains("generated") && output.contains("passed"),
        "{output}"
    );
}

/// Whether a failed run's report holds no finding about the API, only errors of the tool's
/// own test generation.
fn tool_fault_only(output: &str) -> bool {
    !output.contains("FAILURES")
        && output.contains("Inconsistent results")
        && !output.contains("Server error")
}

/// One schemathesis run: whether it passed, and what it printed.
async fn run_schemathesis(platform: &Platform, extra: &[&str]) -> (bool, String) {
    let workdir = tempfile::tempdir().unwrap();
    let url = platform.api.url("/openapi.json");
    let mut args = vec![
        "run",
        url.as_str(),
        // No 5xx; every status, content type and body as the document says.
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,\
         response_schema_conformance",
        "--max-examples",
        "12",
        // One worker: with more, Hypothesis parses lambdas' source from several threads at
        // once, which CPython 3.11's `ast` does not survive ("AST constructor recursion depth
        // mismatch", reported as "Inconsistent results").
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        // The same cases on every run: a failure here is reproducible.
        "--seed",
        "1",
        "--generation-database",
        "none",
    ];
    args.extend_from_slice(extra);
    // Into a file, not a pipe: a long report would fill a pipe nobody reads until the end,
    // and the run would never end.
    let output_path = workdir.path().join("report.txt");
    let output = std::fs::File::create(&output_path).unwrap();
    let mut run = Command::new("st")
        .current_dir(workdir.path())
        .args(&args)
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        .stdin(Stdio::null())
        .spawn()
        .expect("schemathesis (`st`) is not installed; tests/services.sh installs it");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SCHEMATHESIS_LIMIT {
            let _ = run.kill();
            let _ = run.wait();
            panic!(
                "schemathesis ran past {SCHEMATHESIS_LIMIT:?}:\n{}",
                std::fs::read_to_string(&output_path).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let printed = std::fs::read_to_string(&output_path).unwrap_or_default();
    (status.success(), printed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_the_api_true_to_its_document() {
    // A short synchronous wait: schemathesis may ask for one on an actor whose image never
    // runs.
    let platform =
        Platform::start_with_settings(BackendKind::Embedded, &[("ABACO_SYNC_WAIT_SECS", "2")])
            .await;
    // Every operation as a regular user (actors it creates get a worker, and the example
    // image, a sample actor, runs for real)...
    schemathesis(&platform, &[]).await;
    // ...and the administrators' routes as an administrator (the suite's `root`).
    schemathesis(
        &platform,
        &[
            "--header",
            "X-Abaco-User: root",
            "--include-path-regex",
            "^/actors/(admin|utilization)",
            // Nothing links to these: there is no stateful phase to run.
            "--phases",
            "examples,coverage,fuzzing",
        ],
    )
    .await;
}
