//! Aliases as abaco's users use them, on both backends in `jwt` mode: names that work
//! wherever actor ids do (REST and gRPC), names that cannot be aliases, one name in two
//! tenants, links by alias, and nothing of a deleted alias surviving into one made again.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use abaco::pb::{self, access_client::AccessClient, registration_client::RegistrationClient};
use abaco_tests::{
    Platform,
    cast::{Cast, Who, access_platform},
    on_both_backends,
    steps::{finished, logs_of},
};
use serde_json::json;
use tonic::metadata::MetadataValue;

on_both_backends!(
    start = access_platform;
    aliases_work_wherever_ids_do,
);

const LIMIT: Duration = Duration::from_secs(60);

async fn aliases_work_wherever_ids_do(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let a = &cast.actor;
    let alice = cast.api(Who::Owner);
    let created = alice
        .post(
            "/actors/aliases",
            &json!({"alias": "echo-prod", "actorId": a}),
        )
        .await
        .unwrap();
    assert_eq!(created.ok()["actorId"], *a);
    assert_eq!(created.ok()["owner"], "alice");
    // Messages, executions, logs and workers by alias.
    let sent = alice
        .post("/actors/echo-prod/messages", &json!({"via": "alias"}))
        .await
        .unwrap();
    let execution = sent.ok()["executionId"].as_str().unwrap().to_string();
    let record = finished(alice, "echo-prod", &execution, LIMIT).await;
    assert_eq!(record["status"], "COMPLETE", "{record}");
    assert!(
        logs_of(alice, "echo-prod", &execution)
            .await
            .contains("alias")
    );
    assert_eq!(alice.get("/actors/echo-prod").await.unwrap().ok()["id"], *a);
    alice.get("/actors/echo-prod/workers").await.unwrap().ok();
    // Names that cannot be aliases, and a taken one.
    for (alias, why) in [
        ("search", "reserved"),
        ("configs", "reserved"),
        (a.as_str(), "actor id"),
        ("a/b", "contains"),
    ] {
        alice
            .post("/actors/aliases", &json!({"alias": alias, "actorId": a}))
            .await
            .unwrap()
            .error(400, why);
    }
    alice
        .post(
            "/actors/aliases",
            &json!({"alias": "echo-prod", "actorId": a}),
        )
        .await
        .unwrap()
        .error(409, "exists");
    // Another tenant has its own names.
    let eve = cast.api(Who::OtherTenant);
    let eves = eve
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "minWorkers": 0}),
        )
        .await
        .unwrap();
    let eves = eves.id();
    let same_name = eve
        .post(
            "/actors/aliases",
            &json!({"alias": "echo-prod", "actorId": eves}),
        )
        .await
        .unwrap();
    assert_eq!(same_name.ok()["actorId"], eves);
    assert_eq!(eve.get("/actors/echo-prod").await.unwrap().ok()["id"], eves);
    // Others need permission on the alias itself; a nonce of an alias works by the alias.
    let bob = cast.api(Who::Regular);
    bob.get("/actors/aliases/echo-prod")
        .await
        .unwrap()
        .error(403, "alias");
    let alias_nonce = alice
        .post(
            "/actors/aliases/echo-prod/nonces",
            &json!({"level": "EXECUTE"}),
        )
        .await
        .unwrap();
    let alias_nonce = alias_nonce.id();
    platform
        .api
        .post(
            &format!("/actors/echo-prod/messages?x-nonce={alias_nonce}"),
            &json!({}),
        )
        .await
        .unwrap()
        .ok();
    alice
        .post(
            "/actors/aliases/echo-prod/nonces",
            &json!({"level": "UPDATE"}),
        )
        .await
        .unwrap()
        .error(400, "level");
    // gRPC takes the alias too.
    let token =
        MetadataValue::try_from(format!("Bearer {}", platform.token("alice", None))).unwrap();
    let mut registration =
        RegistrationClient::connect(format!("http://{}", platform.service_addr("registration")))
            .await
            .unwrap();
    let mut request = tonic::Request::new(pb::GetActorRequest {
        actor_id: "echo-prod".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", token.clone());
    assert_eq!(
        registration
            .get_actor(request)
            .await
            .unwrap()
            .into_inner()
            .id,
        *a
    );
    let mut access =
        AccessClient::connect(format!("http://{}", platform.service_addr("registration")))
            .await
            .unwrap();
    let mut request = tonic::Request::new(pb::AliasRef {
        alias: "echo-prod".into(),
    });
    request.metadata_mut().insert("authorization", token);
    assert_eq!(
        access
            .get_alias(request)
            .await
            .unwrap()
            .into_inner()
            .actor_id,
        *a
    );
    // A link names an actor the caller may send to, by id or alias; another tenant's is
    // as absent as one that does not exist.
    let linked = alice
        .post(
            "/actors",
            &json!({"image": "abaco/sample-echo", "minWorkers": 0, "link": "echo-prod"}),
        )
        .await
        .unwrap();
    assert_eq!(linked.ok()["link"], *a);
    for link in [eves.as_str(), "0000000000000"] {
        alice
            .post(
                "/actors",
                &json!({"image": "abaco/sample-echo", "minWorkers": 0, "link": link}),
            )
            .await
            .unwrap()
            .error(400, "link: no actor");
    }
    // A name made again starts without the grants of the one deleted.
    alice
        .post(
            "/actors/aliases",
            &json!({"alias": "echo-next", "actorId": a}),
        )
        .await
        .unwrap()
        .ok();
    alice
        .post(
            "/actors/aliases/echo-next/permissions",
            &json!({"user": "bob", "level": "UPDATE"}),
        )
        .await
        .unwrap()
        .ok();
    assert_eq!(
        bob.get("/actors/aliases/echo-next").await.unwrap().status,
        200
    );
    alice
        .delete("/actors/aliases/echo-next")
        .await
        .unwrap()
        .ok();
    alice
        .post(
            "/actors/aliases",
            &json!({"alias": "echo-next", "actorId": a}),
        )
        .await
        .unwrap()
        .ok();
    bob.get("/actors/aliases/echo-next")
        .await
        .unwrap()
        .error(403, "alias");
    // Deleting the actor takes its aliases, their grants and nonces with it.
    alice.delete(&format!("/actors/{a}")).await.unwrap().ok();
    alice
        .get("/actors/aliases/echo-prod")
        .await
        .unwrap()
        .error(404, "alias");
    alice
        .get("/actors/echo-prod")
        .await
        .unwrap()
        .error(404, "echo-prod");
    assert_eq!(
        eve.get("/actors/aliases/echo-prod").await.unwrap().status,
        200
    );
}
