//! Dead letters, on both backends: a message whose execution record the store lost (deleted
//! here while the platform is down) is put aside, not dropped, and its actor's users list it,
//! replay it under its own execution id (it then runs once), or delete it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco::{records::child_key, store::Table};
use abaco_tests::{
    Platform, on_both_backends,
    steps::{eventually, finished, logs_of, register, send},
};
use serde_json::{Value, json};

on_both_backends!(lost_records_become_dead_letters_to_replay_or_delete);

const LIMIT: Duration = Duration::from_secs(90);

/// `abaco ARGS` as the administrator `root`, which must succeed; its stdout.
fn abaco(platform: &Platform, args: &[&str]) -> String {
    let output = std::process::Command::new(abaco_tests::binary())
        .args(args)
        .env("ABACO_URL", platform.api.url(""))
        .env("ABACO_USER", "root")
        .env_remove("ABACO_TOKEN")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "abaco {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn letters(platform: &Platform, actor: &str) -> Vec<Value> {
    let answer = platform
        .api_as("root")
        .get(&format!("/actors/{actor}/deadletters"))
        .await
        .unwrap();
    answer.ok().as_array().unwrap().clone()
}

async fn lost_records_become_dead_letters_to_replay_or_delete(mut platform: Platform) {
    let api = platform.api_as("root");
    // An image no host has: the actor cannot run yet, so its messages wait in the mailbox.
    let actor = register(&api, json!({"image": "abaco/not-built-yet"})).await;
    let kept = send(&api, &actor, "", "text/plain", b"replay me".to_vec()).await;
    let dropped = send(&api, &actor, "", "text/plain", b"delete me".to_vec()).await;

    // The store loses both records while the platform is down.
    platform.kill();
    {
        let store = platform.open_store().await;
        for id in [&kept, &dropped] {
            assert!(
                store
                    .delete(Table::Executions, &child_key(&actor, id))
                    .await
                    .unwrap()
            );
        }
    }
    platform.start_again().await;
    let api = platform.api_as("root");
    let answer = api
        .patch(
            &format!("/actors/{actor}"),
            &json!({"image": "abaco/sample-echo"}),
        )
        .await
        .unwrap();
    answer.ok();

    // The worker puts both aside instead of dropping them.
    let found = eventually(LIMIT, "two dead letters", || async {
        let found = letters(&platform, &actor).await;
        (found.len() == 2).then_some(found)
    })
    .await;
    let ids: Vec<&str> = found.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&kept.as_str()) && ids.contains(&dropped.as_str()),
        "{found:?}"
    );
    let letter = found.iter().find(|l| l["id"] == kept.as_str()).unwrap();
    assert!(
        letter["reason"]
            .as_str()
            .unwrap()
            .contains("without an execution record"),
        "{letter}"
    );
    assert_eq!(letter["message"], "replay me");
    assert_eq!(letter["size"], 9);

    // Replayed under its own id, it runs once.
    let replayed = api
        .post(
            &format!("/actors/{actor}/deadletters/{kept}/replay"),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(replayed.ok()["executionIds"], json!([kept.clone()]));
    let run = finished(&api, &actor, &kept, LIMIT).await;
    assert_eq!(run["status"], "COMPLETE", "{run}");
    assert!(logs_of(&api, &actor, &kept).await.contains("replay me"));
    // Gone from the list; replaying it again finds nothing.
    api.post(
        &format!("/actors/{actor}/deadletters/{kept}/replay"),
        &json!({}),
    )
    .await
    .unwrap()
    .error(404, "dead letter");

    // The other is deleted unsent, by the command line.
    let listed = abaco(&platform, &["deadletters", "ls", &actor, "--json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    abaco(&platform, &["deadletters", "rm", &actor, &dropped]);
    assert!(letters(&platform, &actor).await.is_empty());
    let none = api
        .post(&format!("/actors/{actor}/deadletters/replay"), &json!({}))
        .await
        .unwrap();
    assert_eq!(none.ok()["executionIds"], json!([]));
    let executions = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    let listed = executions.ok()["executions"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");

    // Someone without access to the actor may not read them.
    platform
        .api_as("mallory")
        .get(&format!("/actors/{actor}/deadletters"))
        .await
        .unwrap()
        .error(403, "READ access");
}
