//! The `abaco` command's user verbs, end to end against a platform in `jwt` mode on both
//! backends: the URL and token come from `ABACO_URL` and `ABACO_TOKEN`, tables by default,
//! `--json` for scripts, and exit codes scripts can trust.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use abaco_tests::{BackendKind, Platform, binary, on_both_backends};
use serde_json::Value;

async fn start(kind: BackendKind) -> Platform {
    // A synchronous message waits at most 5 s here, so that one can outlast the wait.
    Platform::start_jwt(kind, &[("ABACO_SYNC_WAIT_SECS", "5")]).await
}

on_both_backends!(start = start; the_user_verbs_drive_a_platform, failures_have_exit_codes_and_messages);

/// `abaco ARGS` as `user`, with the platform's URL and the user's token in the environment.
fn abaco(platform: &Platform, user: &str, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("ABACO_TOKEN")
        .env("ABACO_URL", platform.api.url(""))
        .env("ABACO_TOKEN", platform.token(user, None))
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs and expects exit code 0; its stdout.
fn ok(platform: &Platform, user: &str, args: &[&str]) -> String {
    let output = abaco(platform, user, args);
    assert!(
        output.status.success(),
        "abaco {args:?}: {:?}\n{}\n{}",
        output.status.code(),
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn the_user_verbs_drive_a_platform(platform: Platform) {
    let p = &platform;
    let actor = ok(
        p,
        "ada",
        &[
            "actors",
            "create",
            "--image",
            "abaco/sample-echo",
            "--name",
            "greeter",
            "--env",
            "GREETING=hi",
        ],
    );
    let actor = actor.trim().to_string();
    assert!(!actor.is_empty());

    let table = ok(p, "ada", &["actors", "ls"]);
    assert!(
        table.contains(&actor) && table.contains("greeter") && table.contains("ID"),
        "{table}"
    );
    let listed = json(&ok(p, "ada", &["actors", "ls", "--json"]));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == actor.as_str()),
        "{listed}"
    );
    // Another user sees nothing of ada's.
    let theirs = json(&ok(p, "bob", &["actors", "ls", "--json"]));
    assert_eq!(theirs, Value::Array(Vec::new()));

    // A message waited for: its record, then its logs; exit 0 as it completed with 0.
    let waited = ok(
        p,
        "ada",
        &[
            "send",
            &actor,
            "hello there",
            "--wait",
            "--poll-ms",
            "50",
            "--env",
            "EXTRA=7",
        ],
    );
    assert!(waited.contains("COMPLETE"), "{waited}");
    assert!(
        waited.contains("MSG=hello there")
            && waited.contains("GREETING=hi")
            && waited.contains("EXTRA=7"),
        "{waited}"
    );

    let sent = ok(p, "ada", &["send", &actor, "second", "--json"]);
    let execution = json(&sent)["executionId"].as_str().unwrap().to_string();
    let executions = json(&ok(p, "ada", &["executions", "ls", &actor, "--json"]));
    assert_eq!(
        executions["executions"].as_array().unwrap().len(),
        2,
        "{executions}"
    );
    // A page of one, then the rest by the cursor the first page handed out.
    let first = abaco(
        p,
        "ada",
        &["executions", "ls", &actor, "--limit", "1", "--json"],
    );
    assert!(first.status.success());
    let first_page = json(&stdout(&first));
    let waited_id = first_page["executions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cursor = first_page["nextCursor"].as_str().unwrap().to_string();
    let hint = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(hint.contains(&format!("--cursor {cursor}")), "{hint}");
    let rest = json(&ok(
        p,
        "ada",
        &["executions", "ls", &actor, "--cursor", &cursor, "--json"],
    ));
    assert_eq!(rest["executions"][0]["id"], execution.as_str(), "{rest}");
    assert_ne!(waited_id, execution);

    let changed = json(&ok(
        p,
        "ada",
        &[
            "actors",
            "update",
            &actor,
            "--description",
            "says hello",
            "--json",
        ],
    ));
    assert_eq!(changed["description"], "says hello");
    assert_eq!(
        changed["image"], "abaco/sample-echo",
        "PATCH keeps the rest: {changed}"
    );

    // Following a run streams its output to its end.
    let sleeper = ok(
        p,
        "ada",
        &["actors", "create", "--image", "abaco/sample-sleep"],
    );
    let sleeper = sleeper.trim().to_string();
    let slept = json(&ok(p, "ada", &["send", &sleeper, "2", "--json"]));
    let slept = slept["executionId"].as_str().unwrap().to_string();
    let followed = ok(p, "ada", &["logs", &sleeper, &slept, "--follow"]);
    assert!(
        followed.contains("still running after 1s") && followed.contains("slept 2s"),
        "{followed}"
    );
    let logs = ok(p, "ada", &["logs", &actor, &execution]);
    assert!(logs.contains("MSG=second"), "{logs}");

    // Sharing: bob gets READ, then sees the actor; an alias names it; a nonce is made.
    let granted = ok(p, "ada", &["permissions", "grant", &actor, "bob", "READ"]);
    assert!(
        granted.contains("bob") && granted.contains("READ"),
        "{granted}"
    );
    let seen = json(&ok(p, "bob", &["actors", "get", &actor, "--json"]));
    assert_eq!(seen["id"], actor.as_str());
    ok(p, "ada", &["aliases", "create", "greeter-alias", &actor]);
    let aliases = ok(p, "ada", &["aliases", "ls"]);
    assert!(
        aliases.contains("greeter-alias") && aliases.contains(&actor),
        "{aliases}"
    );
    let nonce = ok(
        p,
        "ada",
        &[
            "nonces",
            "create",
            &actor,
            "--level",
            "READ",
            "--max-uses",
            "3",
        ],
    );
    let nonces = ok(p, "ada", &["nonces", "ls", &actor]);
    assert!(nonces.contains(nonce.trim()), "{nonces}");

    let workers = json(&ok(p, "ada", &["workers", "ls", &actor, "--json"]));
    assert!(!workers.as_array().unwrap().is_empty(), "{workers}");

    let gone = ok(p, "ada", &["actors", "rm", &sleeper]);
    assert!(gone.contains(&sleeper), "{gone}");
    let completion = ok(p, "ada", &["completions", "bash"]);
    assert!(
        completion.contains("abaco") && completion.contains("actors"),
        "{}",
        &completion[..200.min(completion.len())]
    );
}

async fn failures_have_exit_codes_and_messages(platform: Platform) {
    let p = &platform;
    // The platform refused: 1, its message on stderr.
    let missing = abaco(p, "ada", &["actors", "get", "no-such-actor"]);
    assert_eq!(missing.status.code(), Some(1));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("not found") && said.contains("404"), "{said}");

    // The run did not complete with 0: 3, after showing it.
    let exiting = ok(
        p,
        "ada",
        &["actors", "create", "--image", "abaco/sample-exit"],
    );
    let failed = abaco(p, "ada", &["send", exiting.trim(), "5", "--wait"]);
    assert_eq!(failed.status.code(), Some(3), "{}", stdout(&failed));
    assert!(stdout(&failed).contains("exiting with 5"));
    // Tried again, once, by the flags: still 3, and the logs hold both tries.
    ok(
        p,
        "ada",
        &[
            "actors",
            "update",
            exiting.trim(),
            "--max-retries",
            "1",
            "--retry-exit-code",
            "5",
        ],
    );
    let retried = abaco(p, "ada", &["send", exiting.trim(), "5", "--wait"]);
    assert_eq!(retried.status.code(), Some(3), "{}", stdout(&retried));
    assert_eq!(
        stdout(&retried).matches("exiting with 5").count(),
        2,
        "{}",
        stdout(&retried)
    );

    // A synchronous run that outlasts the platform's wait: 3, and the platform's words
    // naming the execution, which goes on.
    let sleeper = ok(
        p,
        "ada",
        &["actors", "create", "--image", "abaco/sample-sleep"],
    );
    let outlasted = abaco(p, "ada", &["send", sleeper.trim(), "forever", "--sync"]);
    assert_eq!(outlasted.status.code(), Some(3), "{}", stdout(&outlasted));
    let said = String::from_utf8_lossy(&outlasted.stderr);
    assert!(said.contains("did not finish within 5 s"), "{said}");

    // A wrong command line: 2, before anything is sent.
    let bad = abaco(p, "ada", &["send", exiting.trim(), "--env", "NOEQUALS"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = abaco(p, "ada", &["actors", "create", "--name", "no-image"]);
    assert_eq!(bad.status.code(), Some(2));

    // No platform there: 4.
    let nowhere = Command::new(binary())
        .args(["--url", "http://127.0.0.1:1", "actors", "ls"])
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(4));

    // A bad token: 1, the platform's 401 said.
    let forged = Command::new(binary())
        .args(["actors", "ls"])
        .env("ABACO_URL", p.api.url(""))
        .env("ABACO_TOKEN", "not-a-jwt")
        .output()
        .unwrap();
    assert_eq!(forged.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forged.stderr).contains("401"));
}
