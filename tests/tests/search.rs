//! Search on both backends: `/actors/search/{type}` and the list routes with query
//! parameters select with abaco's operators and page with `_metadata`, and show only what the
//! caller may read.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco_tests::{
    Answer, Platform, on_both_backends,
    steps::{finished, register, send},
};
use serde_json::{Value, json};

on_both_backends!(
    searches_select_and_page_as_abaco_does,
    searches_show_only_what_the_caller_may_read,
);

const LIMIT: Duration = Duration::from_secs(60);

/// The ids a search answered, and its `_metadata`.
fn found(answer: &Answer) -> (Vec<String>, Value) {
    let result = answer.ok();
    let ids = result["search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .or_else(|| item["executionId"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    (ids, result["_metadata"].clone())
}

async fn searches_select_and_page_as_abaco_does(platform: Platform) {
    let api = &platform.api;
    let exits = register(
        api,
        json!({"image": "abaco/sample-exit", "name": "alpha-exits", "description": "exits as told"}),
    )
    .await;
    let echo = register(
        api,
        json!({"image": "abaco/sample-echo", "name": "beta-echo"}),
    )
    .await;
    let mut runs = Vec::new();
    for code in ["0", "3", "3"] {
        let execution = send(api, &exits, "", "str", code.as_bytes().to_vec()).await;
        finished(api, &exits, &execution, LIMIT).await;
        runs.push(execution);
    }
    let said = send(api, &echo, "", "str", b"needle-in-logs".to_vec()).await;
    finished(api, &echo, &said, LIMIT).await;

    let answer = api
        .get("/actors/search/executions?exitCode=3")
        .await
        .unwrap();
    assert_eq!(answer.message(), "Search completed successfully.");
    let (ids, meta) = found(&answer);
    assert_eq!(ids, vec![runs[1].clone(), runs[2].clone()]);
    assert_eq!(meta["totalCount"], 2);

    // Paging: everything that matched is counted, one is shown.
    let (ids, meta) = found(
        &api.get(&format!(
            "/actors/{exits}/executions?status=COMPLETE&skip=1&limit=1"
        ))
        .await
        .unwrap(),
    );
    assert_eq!(ids, vec![runs[1].clone()]);
    assert_eq!(
        meta,
        json!({"totalCount": 3, "recordsSkipped": 1, "recordLimit": 1, "countReturned": 1})
    );
    let (ids, _) = found(
        &api.get(&format!(
            "/actors/{exits}/executions?exitCode.gt=0&exitCode.lte=3"
        ))
        .await
        .unwrap(),
    );
    assert_eq!(ids.len(), 2);
    let (ids, _) = found(
        &api.get("/actors/search/executions?startTime.gte=2020-01-01&exitCode.in=[0,3]")
            .await
            .unwrap(),
    );
    assert_eq!(ids.len(), 4, "times and lists: every run exited 0 or 3");

    // Actors: by field, pattern, words; the list route answers the search shape.
    let listed = api.get("/actors?name.like=^alpha").await.unwrap();
    assert_eq!(listed.message(), "Actors search completed successfully.");
    assert_eq!(found(&listed).0, vec![exits.clone()]);
    let (ids, _) = found(
        &api.get("/actors/search/actors?search=exits%20told")
            .await
            .unwrap(),
    );
    assert_eq!(ids, vec![exits.clone()]);
    let (ids, _) = found(
        &api.get("/actors/search/actors?maxWorkers.gte=1&name.nlike=alpha")
            .await
            .unwrap(),
    );
    assert_eq!(ids, vec![echo.clone()]);

    // Logs and workers.
    let logs = api
        .get("/actors/search/logs?exactsearch=needle-in-logs")
        .await
        .unwrap();
    let hits = logs.ok()["search"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(
        hits[0]["logs"]
            .as_str()
            .unwrap()
            .contains("MSG=needle-in-logs")
    );
    let one = api
        .get(&format!(
            "/actors/{echo}/executions/{said}/logs?search=needle-in-logs"
        ))
        .await
        .unwrap();
    assert_eq!(one.message(), "Log search completed successfully.");
    assert_eq!(one.ok()["_metadata"]["totalCount"], 1);
    let workers = api
        .get(&format!("/actors/{echo}/workers?status.in=READY,BUSY"))
        .await
        .unwrap();
    assert_eq!(workers.message(), "Workers search completed successfully.");
    assert!(workers.ok()["_metadata"]["totalCount"].as_u64().unwrap() >= 1);

    // Refusals name what is wrong.
    api.get("/actors/search/adapters")
        .await
        .unwrap()
        .error(400, "search type");
    api.get("/actors/search/actors?limit=-1")
        .await
        .unwrap()
        .error(400, "limit");
    api.get("/actors/search/executions?startTime.gt=soon")
        .await
        .unwrap()
        .error(400, "ISO 8601");
    api.get("/actors/search/actors?limit=100000")
        .await
        .unwrap()
        .error(400, "at most 1000");
    // A nonce parameter alone is no search.
    let plain = api.get("/actors?x-nonce=").await;
    assert!(plain.is_ok());
}

async fn searches_show_only_what_the_caller_may_read(platform: Platform) {
    let alice = platform.api_as("alice");
    let bob = platform.api_as("bob");
    let hers = register(
        &alice,
        json!({"image": "abaco/sample-echo", "name": "hers"}),
    )
    .await;
    let execution = send(&alice, &hers, "", "str", b"private".to_vec()).await;
    finished(&alice, &hers, &execution, LIMIT).await;

    for kind in ["actors", "executions", "logs", "workers"] {
        let (ids, meta) = found(&bob.get(&format!("/actors/search/{kind}")).await.unwrap());
        assert!(ids.is_empty(), "{kind}: {ids:?}");
        assert_eq!(meta["totalCount"], 0);
    }
    bob.get(&format!("/actors/{hers}/executions?status=COMPLETE"))
        .await
        .unwrap()
        .error(403, "READ");

    alice
        .post(
            &format!("/actors/{hers}/permissions"),
            &json!({"user": "bob", "level": "READ"}),
        )
        .await
        .unwrap()
        .ok();
    let (ids, _) = found(&bob.get("/actors/search/actors?name=hers").await.unwrap());
    assert_eq!(ids, vec![hers.clone()]);
    let (ids, _) = found(&bob.get("/actors/search/executions").await.unwrap());
    assert_eq!(ids, vec![execution]);
}
