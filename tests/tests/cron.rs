//! Cron on both backends: schedules are checked and shown as abaco shows them, a tick is sent
//! once however many schedulers run, and a tick that came while the scheduler was down is
//! sent once it is back.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    BackendKind, Platform, on_both_backends,
    steps::{eventually, logs_of, register},
};
use serde_json::{Value, json};

on_both_backends!(start = with_cron;
    schedules_are_checked_and_shown,
    a_tick_is_sent_once_however_many_schedulers_run,
    a_tick_that_came_while_the_scheduler_was_down_is_sent_after,
);

const LIMIT: Duration = Duration::from_secs(60);

async fn with_cron(kind: BackendKind) -> Platform {
    Platform::start_with_settings(kind, &[("ABACO_CRON_CHECK_SECS", "1")]).await
}

fn hour_from_now(hours: i64) -> String {
    hour_at(chrono::Utc::now(), hours)
}

fn hour_at(at: chrono::DateTime<chrono::Utc>, hours: i64) -> String {
    (at + chrono::TimeDelta::hours(hours))
        .format("%Y-%m-%d %H")
        .to_string()
}

/// Whether `shown` is the hour `hours` from now, or from a minute ago (the test may have
/// crossed an hour since the platform computed it).
fn is_hour_from_now(shown: &Value, hours: i64) -> bool {
    let now = chrono::Utc::now();
    [now, now - chrono::TimeDelta::minutes(1)]
        .iter()
        .any(|at| shown == hour_at(*at, hours).as_str())
}

/// Longest a tick test takes from its registration to its last count, with room to spare.
const TICK_TEST_SPAN: u64 = 75;

/// Ticks come on the hour: a test that crosses into the next hour rightly sees that hour's
/// tick as well, so a test that counts ticks starts clear of the hour's end.
async fn clear_of_the_hour_end() {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let left = 3600 - u64::from(now.minute() * 60 + now.second());
    if left < TICK_TEST_SPAN {
        tokio::time::sleep(Duration::from_secs(left + 2)).await;
    }
}

async fn schedules_are_checked_and_shown(platform: Platform) {
    let api = &platform.api;
    for (schedule, needle) in [
        ("every hour", "not in the correct format"),
        ("2030-02-30 09 + 1 hour", "starting date"),
        ("2020-01-01 00 + 1 hour", "old"),
        ("now + 1 minute", "invalid unit"),
        ("now + 0 hours", "at least 1"),
    ] {
        api.post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "cronSchedule": schedule}),
        )
        .await
        .unwrap()
        .error(400, needle);
    }
    let later = format!("{} + 2 days", hour_from_now(5));
    let created = api
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "minWorkers": 0, "cronSchedule": later}),
        )
        .await
        .unwrap();
    let actor = created.id();
    assert_eq!(created.ok()["cronSchedule"], later.as_str());
    assert_eq!(created.ok()["cronOn"], true);
    let next = created.ok()["cronNextEx"].clone();
    assert!(is_hour_from_now(&next, 5), "{next}");

    // Turned off, the next tick stays; a PUT resending what it read changes nothing of it.
    let off = api
        .patch(&format!("/actors/{actor}"), &json!({"cronOn": false}))
        .await
        .unwrap();
    assert_eq!(off.ok()["cronOn"], false);
    assert_eq!(off.ok()["cronNextEx"], next);
    let mut read: Value = off.ok().clone();
    read["cronNextEx"] = json!("2099-01-01 00");
    let body = json!({
        "image": read["image"], "minWorkers": 0, "cronSchedule": read["cronSchedule"],
        "cronOn": read["cronOn"], "cronNextEx": read["cronNextEx"],
    });
    let put = api.put(&format!("/actors/{actor}"), &body).await.unwrap();
    assert_eq!(put.ok()["cronNextEx"], next);

    let ended = api
        .patch(&format!("/actors/{actor}"), &json!({"cronSchedule": ""}))
        .await
        .unwrap();
    assert_eq!(ended.ok()["cronSchedule"], "");
    assert_eq!(ended.ok()["cronOn"], false);
    assert_eq!(ended.ok()["cronNextEx"], "");
}

/// The executions of `actor` sent by cron.
async fn cron_runs(platform: &Platform, actor: &str) -> Vec<Value> {
    let api = &platform.api;
    let listed = api
        .get(&format!("/actors/{actor}/executions"))
        .await
        .unwrap();
    let mut runs = Vec::new();
    for item in listed.ok()["executions"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let record = api
            .get(&format!("/actors/{actor}/executions/{id}"))
            .await
            .unwrap()
            .ok()
            .clone();
        if record["executor"] == "cron" {
            runs.push(record);
        }
    }
    runs
}

/// Waits for the one run of this hour's tick; checks it and that no second one follows.
async fn the_tick_runs_once(platform: &Platform, actor: &str) {
    let api = &platform.api;
    let run = eventually(LIMIT, "the cron tick to run", || async {
        cron_runs(platform, actor)
            .await
            .into_iter()
            .find(|r| r["status"] == "COMPLETE")
    })
    .await;
    let logs = logs_of(api, actor, run["id"].as_str().unwrap()).await;
    assert!(logs.contains("MSG=This is your cron execution"), "{logs}");
    assert!(logs.contains("_abaco_username=cron"), "{logs}");
    let moved = api.get(&format!("/actors/{actor}")).await.unwrap();
    let next = &moved.ok()["cronNextEx"];
    assert!(is_hour_from_now(next, 1), "{next}");
    // Several more passes of every scheduler: still that one.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(cron_runs(platform, actor).await.len(), 1);
}

async fn a_tick_is_sent_once_however_many_schedulers_run(mut platform: Platform) {
    if platform.kind == BackendKind::Distributed {
        // A second `abaco health`, with its own scheduler, beside the first.
        platform.start_component("health");
    }
    clear_of_the_hour_end().await;
    let actor = register(
        &platform.api,
        json!({"image": "abaco/sample-echo", "cronSchedule": "now + 1 hour"}),
    )
    .await;
    the_tick_runs_once(&platform, &actor).await;
}

async fn a_tick_that_came_while_the_scheduler_was_down_is_sent_after(mut platform: Platform) {
    clear_of_the_hour_end().await;
    match platform.kind {
        BackendKind::Distributed => {
            platform.kill_component("health");
            let actor = register(
                &platform.api,
                json!({"image": "abaco/sample-echo", "cronSchedule": "now + 1 hour"}),
            )
            .await;
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert!(cron_runs(&platform, &actor).await.is_empty());
            platform.start_component("health");
            the_tick_runs_once(&platform, &actor).await;
        }
        BackendKind::Embedded => {
            // The scheduler lives in `abaco up`: the crash takes it down right after the
            // registration, whether or not it sent the tick first; after it, the tick has run
            // once.
            let actor = register(
                &platform.api,
                json!({"image": "abaco/sample-echo", "cronSchedule": "now + 1 hour"}),
            )
            .await;
            platform.crash_and_restart().await;
            the_tick_runs_once(&platform, &actor).await;
        }
    }
}
