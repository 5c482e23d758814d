//! The actors API through the gateway: what users of abaco's REST API depend on.

#![allow(clippy::unwrap_used)]

use abaco_tests::{Platform, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    register_read_update_delete,
    bad_input_is_refused_by_name_and_writes_nothing,
    envelope_on_unknown_routes_and_wrong_methods,
    both_spellings_and_the_v3_prefix,
    actors_survive_a_crash,
);

async fn register_read_update_delete(platform: Platform) {
    let api = &platform.api;
    let created = api
        .post("/actors", &json!({"image": "abaco/sample-echo", "name": "echo", "defaultEnvironment": {"GREETING": "hi"}}))
        .await
        .unwrap();
    let actor = created.ok().clone();
    assert_eq!(
        created.body["version"].as_str().map(str::is_empty),
        Some(false)
    );
    let id = actor["id"].as_str().unwrap();
    assert_eq!(id.len(), 13);
    assert_eq!(actor["image"], "abaco/sample-echo");
    assert_eq!(actor["owner"], "anonymous");
    assert_eq!(actor["revision"], 1);
    assert_eq!(actor["stateless"], true);
    assert_eq!(actor["defaultEnvironment"]["GREETING"], "hi");
    assert!(
        ["SUBMITTED", "READY"].contains(&actor["status"].as_str().unwrap()),
        "{actor}"
    );
    assert!(actor["createTime"].as_str().unwrap().ends_with('Z'));
    assert!(
        actor["_links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/actors/{id}"))
    );

    let fetched = api.get(&format!("/actors/{id}")).await.unwrap();
    assert_eq!(fetched.ok()["id"], id);
    let listed = api.get("/actors").await.unwrap();
    assert!(
        listed
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id)
    );

    // PATCH (ours) changes the fields given and keeps the rest.
    let described = api
        .patch(
            &format!("/actors/{id}"),
            &json!({"description": "prints things"}),
        )
        .await
        .unwrap();
    assert_eq!(described.ok()["description"], "prints things");
    assert_eq!(
        described.ok()["revision"],
        1,
        "same image keeps the revision"
    );
    assert_eq!(described.ok()["name"], "echo", "unset fields are kept");
    // PUT replaces the actor, as abaco's does: the image is required, and what it leaves out
    // takes its default (the name stays).
    api.put(
        &format!("/actors/{id}"),
        &json!({"description": "no image"}),
    )
    .await
    .unwrap()
    .error(400, "image is required");
    let reimaged = api
        .put(
            &format!("/actors/{id}"),
            &json!({"image": "abaco/sample-exit"}),
        )
        .await
        .unwrap();
    assert_eq!(reimaged.ok()["revision"], 2);
    assert_eq!(reimaged.ok()["description"], "");
    assert_eq!(reimaged.ok()["defaultEnvironment"], json!({}));
    assert_eq!(reimaged.ok()["name"], "echo");
    let forced = api
        .patch(&format!("/actors/{id}"), &json!({"force": true}))
        .await
        .unwrap();
    assert_eq!(forced.ok()["revision"], 3);

    api.delete(&format!("/actors/{id}")).await.unwrap().ok();
    api.get(&format!("/actors/{id}"))
        .await
        .unwrap()
        .error(404, id);
    api.delete(&format!("/actors/{id}"))
        .await
        .unwrap()
        .error(404, "not found");
    let listed = api.get("/actors").await.unwrap();
    assert!(
        !listed
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id)
    );
}

async fn bad_input_is_refused_by_name_and_writes_nothing(platform: Platform) {
    let api = &platform.api;
    let existing = api.register("abaco/sample-echo").await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 400, "image"),
        (json!({"name": "no image"}), 400, "image"),
        (json!({"image": "Not A Valid Image"}), 400, "image"),
        (
            json!({"image": "abaco/x", "stateless": "yes"}),
            400,
            "stateless",
        ),
        (
            json!({"image": "abaco/x", "maxWorkers": -1}),
            400,
            "maxWorkers",
        ),
        (
            json!({"image": "abaco/x", "stateless": false, "maxWorkers": 2}),
            400,
            "maxWorkers",
        ),
        (
            json!({"image": "abaco/x", "defaultEnvironment": "A=1"}),
            400,
            "defaultEnvironment",
        ),
        (json!({"image": "abaco/x", "colour": "blue"}), 400, "colour"),
        (json!(["abaco/x"]), 400, "object"),
    ];
    for (body, status, needle) in cases {
        let answer = api.post("/actors", &body).await.unwrap();
        answer.error(status, needle);
    }
    let malformed = api
        .raw(
            Method::POST,
            "/actors",
            "application/json",
            b"{\"image\": ".to_vec(),
        )
        .await
        .unwrap();
    malformed.error(400, "json");
    let huge = format!(
        "{{\"image\": \"abaco/x\", \"description\": \"{}\"}}",
        "x".repeat(10 << 20)
    );
    let too_big = api
        .raw(
            Method::POST,
            "/actors",
            "application/json",
            huge.into_bytes(),
        )
        .await
        .unwrap();
    too_big.error(413, "");
    api.get("/actors/0000000000000")
        .await
        .unwrap()
        .error(404, "0000000000000");
    api.put("/actors/0000000000000", &json!({"description": "x"}))
        .await
        .unwrap()
        .error(404, "0000000000000");
    api.put(&format!("/actors/{existing}"), &json!({"maxWorkers": -1}))
        .await
        .unwrap()
        .error(400, "maxWorkers");
    api.patch(
        &format!("/actors/{existing}"),
        &json!({"stateless": false, "maxWorkers": 2}),
    )
    .await
    .unwrap()
    .error(400, "maxWorkers");

    let listed = api.get("/actors").await.unwrap();
    let actors = listed.ok().as_array().unwrap().clone();
    assert_eq!(actors.len(), 1, "bad input wrote something: {actors:?}");
    let unchanged = api.get(&format!("/actors/{existing}")).await.unwrap();
    assert_eq!(unchanged.ok()["revision"], 1);
    assert_eq!(unchanged.ok()["stateless"], true);
}

async fn envelope_on_unknown_routes_and_wrong_methods(platform: Platform) {
    let api = &platform.api;
    api.get("/no/such/route").await.unwrap().error(404, "");
    let wrong = api
        .raw(Method::PUT, "/actors", "application/json", b"{}".to_vec())
        .await
        .unwrap();
    wrong.error(405, "");
}

async fn both_spellings_and_the_v3_prefix(platform: Platform) {
    let api = &platform.api;
    let created = api
        .post(
            "/v3/actors",
            &json!({"image": "abaco/sample-echo", "default_environment": {"A": "1"}, "max_workers": 3, "useContainerUid": false}),
        )
        .await
        .unwrap();
    let actor = created.ok().clone();
    assert_eq!(actor["maxWorkers"], 3);
    assert_eq!(actor["defaultEnvironment"]["A"], "1");
    let id = actor["id"].as_str().unwrap();
    api.get(&format!("/v3/actors/{id}")).await.unwrap().ok();
    api.get(&format!("/actors/{id}")).await.unwrap().ok();
}

async fn actors_survive_a_crash(mut platform: Platform) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(platform.api.register("abaco/sample-echo").await);
    }
    platform.crash_and_restart().await;
    for id in &ids {
        let answer = platform.api.get(&format!("/actors/{id}")).await.unwrap();
        assert_eq!(answer.ok()["id"], id.as_str());
    }
}
