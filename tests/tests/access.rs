//! Who may do what, over REST and gRPC, on both backends in `jwt` mode: every kind of caller
//! against every kind of route, each with the exact status abaco's users can rely on (401 for
//! who-are-you, 403 for not-allowed, 404 for another tenant's actor).

#![allow(clippy::unwrap_used)]

use abaco::pb::{self, messages_client::MessagesClient, registration_client::RegistrationClient};
use abaco_tests::{
    Platform,
    cast::{Cast, Who, access_platform},
    on_both_backends,
};
use reqwest::Method;
use serde_json::{Value, json};
use tonic::{Code, metadata::MetadataValue};

on_both_backends!(
    start = access_platform;
    every_caller_gets_the_status_its_role_allows_over_rest,
    every_caller_gets_the_status_its_role_allows_over_grpc,
    sharing_opens_an_actor_level_by_level,
    limited_users_are_throttled,
);

/// One route of the matrix and the status each caller gets, in the order of [`Who::ALL`]:
/// admin, privileged, owner, regular, limited, other tenant, nonce, no token, forged.
struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    expected: [u16; 9],
}

fn row(method: Method, path: String, body: Option<Value>, expected: [u16; 9]) -> Row {
    Row {
        method,
        path,
        body,
        expected,
    }
}

async fn every_caller_gets_the_status_its_role_allows_over_rest(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let a = &cast.actor;
    let rows = [
        row(
            Method::GET,
            format!("/actors/{a}"),
            None,
            [200, 403, 200, 403, 403, 404, 200, 401, 401],
        ),
        row(
            Method::POST,
            format!("/actors/{a}/messages"),
            Some(json!({"hello": "matrix"})),
            [200, 403, 200, 403, 403, 404, 200, 401, 401],
        ),
        row(
            Method::PUT,
            format!("/actors/{a}"),
            Some(json!({"image": "abaco/sample-echo", "description": "changed"})),
            [200, 403, 200, 403, 403, 404, 403, 401, 401],
        ),
        row(
            Method::DELETE,
            format!("/actors/{a}/messages"),
            None,
            [200, 403, 200, 403, 403, 404, 403, 401, 401],
        ),
        row(
            Method::GET,
            format!("/actors/{a}/executions"),
            None,
            [200, 403, 200, 403, 403, 404, 200, 401, 401],
        ),
        row(
            Method::POST,
            "/actors".into(),
            Some(json!({"image": "abaco/sample-echo", "maxWorkers": 3, "minWorkers": 0})),
            [200, 200, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            format!("/actors/{a}/workers"),
            Some(json!({"num": 1})),
            [200, 403, 403, 403, 403, 404, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/actors/admin".into(),
            None,
            [200, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/actors/utilization".into(),
            None,
            [200, 403, 403, 403, 403, 403, 403, 401, 401],
        ),
        row(
            Method::POST,
            format!("/actors/{a}/nonces"),
            Some(json!({"maxUses": 1})),
            [200, 403, 200, 403, 403, 404, 403, 401, 401],
        ),
        row(
            Method::GET,
            format!("/actors/{a}/permissions"),
            None,
            [200, 403, 200, 403, 403, 404, 403, 401, 401],
        ),
        row(
            Method::GET,
            "/actors".into(),
            None,
            [200, 200, 200, 200, 200, 200, 403, 401, 401],
        ),
    ];
    let mut wrong = Vec::new();
    for row in &rows {
        for (who, expected) in Who::ALL.into_iter().zip(row.expected) {
            let path = cast.path(who, &row.path);
            let answer = cast
                .api(who)
                .call(row.method.clone(), &path, row.body.as_ref())
                .await
                .unwrap();
            let envelope = answer.body["status"].is_string() && answer.body["version"].is_string();
            if answer.status != expected || !envelope {
                wrong.push(format!(
                    "{} {} as {who:?}: {} (expected {expected}) {}",
                    row.method, row.path, answer.status, answer.text
                ));
            }
        }
    }
    // Aliases, one name per caller so that none collides with another's.
    for (who, expected) in Who::ALL
        .into_iter()
        .zip([200, 403, 200, 403, 403, 404, 403, 401, 401])
    {
        let body = json!({"alias": format!("al-{who:?}").to_lowercase(), "actorId": a});
        let answer = cast
            .api(who)
            .post(&cast.path(who, "/actors/aliases"), &body)
            .await
            .unwrap();
        if answer.status != expected {
            wrong.push(format!(
                "POST /actors/aliases as {who:?}: {} (expected {expected}) {}",
                answer.status, answer.text
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Listings hold what each caller may read, no more.
    let ids = |answer: &abaco_tests::Answer| -> Vec<String> {
        answer
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    let for_owner = cast.api(Who::Owner).get("/actors").await.unwrap();
    assert!(ids(&for_owner).contains(a));
    let for_admin = cast.api(Who::Admin).get("/actors").await.unwrap();
    assert!(ids(&for_admin).contains(a));
    for who in [Who::Regular, Who::OtherTenant] {
        let listed = cast.api(who).get("/actors").await.unwrap();
        assert!(!ids(&listed).contains(a), "{who:?} lists alice's actor");
    }
    let other_admin = platform
        .api
        .with_token(&platform.token("otherroot", Some("other")))
        .get("/actors/admin")
        .await
        .unwrap();
    assert!(
        !ids(&other_admin).contains(a),
        "another tenant's admin sees it"
    );

    // The refused senders left nothing in the actor's executions.
    let executions = cast
        .api(Who::Owner)
        .get(&format!("/actors/{a}/executions"))
        .await
        .unwrap();
    for execution in executions.ok()["executions"].as_array().unwrap() {
        assert!(
            ["root", "alice"].contains(&execution["executor"].as_str().unwrap_or_default()),
            "a refused sender left {execution}"
        );
    }
    // A message sent with the nonce runs as the nonce's owner.
    let sent = cast
        .api(Who::Nonce)
        .post(
            &cast.path(Who::Nonce, &format!("/actors/{a}/messages")),
            &json!({"by": "nonce"}),
        )
        .await
        .unwrap();
    let execution = sent.ok()["executionId"].as_str().unwrap().to_string();
    let record = cast
        .api(Who::Owner)
        .get(&format!("/actors/{a}/executions/{execution}"))
        .await
        .unwrap();
    assert_eq!(record.ok()["executor"], "alice");
}

/// The code of a gRPC answer.
fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

/// gRPC metadata for `who`, as a gRPC client would send it.
fn as_caller<T>(platform: &Platform, cast: &Cast, who: Who, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    match who {
        Who::Nonce => {
            metadata.insert(
                "x-nonce",
                MetadataValue::try_from(cast.nonce.as_str()).unwrap(),
            );
        }
        Who::NoToken => {}
        Who::Forged => {
            metadata.insert("x-abaco-user", MetadataValue::from_static("root"));
        }
        Who::OtherTenant => {
            let token = format!("Bearer {}", platform.token("eve", Some("other")));
            metadata.insert("authorization", MetadataValue::try_from(token).unwrap());
        }
        _ => {
            let token = format!("Bearer {}", platform.token(who.user().unwrap(), None));
            metadata.insert("authorization", MetadataValue::try_from(token).unwrap());
        }
    }
    request
}

async fn every_caller_gets_the_status_its_role_allows_over_grpc(platform: Platform) {
    use Code::{NotFound as Nf, Ok as Y, PermissionDenied as Pd, Unauthenticated as Un};
    let cast = Cast::new(&platform).await;
    let registration = format!("http://{}", platform.service_addr("registration"));
    let messages = format!("http://{}", platform.service_addr("messages"));
    let mut registration = RegistrationClient::connect(registration).await.unwrap();
    let mut messages = MessagesClient::connect(messages).await.unwrap();
    let mut wrong = Vec::new();
    let get_expected = [Y, Pd, Y, Pd, Pd, Nf, Y, Un, Un];
    let send_expected = [Y, Pd, Y, Pd, Pd, Nf, Y, Un, Un];
    let update_expected = [Y, Pd, Y, Pd, Pd, Nf, Pd, Un, Un];
    for (index, who) in Who::ALL.into_iter().enumerate() {
        let got = code(
            registration
                .get_actor(as_caller(
                    &platform,
                    &cast,
                    who,
                    pb::GetActorRequest {
                        actor_id: cast.actor.clone(),
                    },
                ))
                .await,
        );
        if got != get_expected[index] {
            wrong.push(format!("GetActor as {who:?}: {got:?}"));
        }
        let got = code(
            messages
                .send_message(as_caller(
                    &platform,
                    &cast,
                    who,
                    pb::SendMessageRequest {
                        actor_id: cast.actor.clone(),
                        body: b"over grpc".to_vec(),
                        content_type: "str".into(),
                        ..Default::default()
                    },
                ))
                .await,
        );
        if got != send_expected[index] {
            wrong.push(format!("SendMessage as {who:?}: {got:?}"));
        }
        let got = code(
            registration
                .update_actor(as_caller(
                    &platform,
                    &cast,
                    who,
                    pb::UpdateActorRequest {
                        actor_id: cast.actor.clone(),
                        spec: Some(pb::ActorSpec {
                            description: Some("grpc".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ))
                .await,
        );
        if got != update_expected[index] {
            wrong.push(format!("UpdateActor as {who:?}: {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn sharing_opens_an_actor_level_by_level(platform: Platform) {
    let cast = Cast::new(&platform).await;
    let a = &cast.actor;
    let alice = cast.api(Who::Owner);
    let bob = cast.api(Who::Regular);
    let share = |user: &str, level: &str| json!({"user": user, "level": level});
    let permissions = format!("/actors/{a}/permissions");

    let granted = alice
        .post(&permissions, &share("bob", "READ"))
        .await
        .unwrap();
    assert_eq!(granted.ok()["bob"], "READ");
    assert_eq!(granted.ok()["alice"], "UPDATE");
    assert_eq!(bob.get(&format!("/actors/{a}")).await.unwrap().status, 200);
    assert!(
        bob.get("/actors")
            .await
            .unwrap()
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == *a)
    );
    let send = format!("/actors/{a}/messages");
    bob.post(&send, &json!({"x": 1}))
        .await
        .unwrap()
        .error(403, "EXECUTE");

    // Form bodies, as abaco's clients send them.
    alice
        .post_form(&permissions, &[("user", "bob"), ("level", "EXECUTE")])
        .await
        .unwrap()
        .ok();
    let sent = bob.post(&send, &json!({"x": 2})).await.unwrap();
    assert_eq!(sent.status, 200, "{}", sent.text);
    bob.patch(&format!("/actors/{a}"), &json!({"description": "bob"}))
        .await
        .unwrap()
        .error(403, "UPDATE");
    // Only UPDATE may share further.
    bob.post(&permissions, &share("carol", "READ"))
        .await
        .unwrap()
        .error(403, "UPDATE");

    // NONE takes the grant away; it does not linger.
    let revoked = alice
        .post(&permissions, &share("bob", "NONE"))
        .await
        .unwrap();
    assert!(revoked.ok().get("bob").is_none(), "{}", revoked.text);
    assert_eq!(bob.get(&format!("/actors/{a}")).await.unwrap().status, 403);

    // Everyone in the tenant, at the level given and no more; not another tenant.
    alice
        .post(&permissions, &share("ABACO_WORLD", "READ"))
        .await
        .unwrap()
        .ok();
    assert_eq!(bob.get(&format!("/actors/{a}")).await.unwrap().status, 200);
    bob.post(&send, &json!({"x": 3}))
        .await
        .unwrap()
        .error(403, "EXECUTE");
    let eve = cast.api(Who::OtherTenant);
    assert_eq!(eve.get(&format!("/actors/{a}")).await.unwrap().status, 404);

    // The owner cannot be locked out; bad levels and users are named.
    alice
        .post(&permissions, &share("alice", "READ"))
        .await
        .unwrap()
        .error(400, "owns");
    alice
        .post(&permissions, &share("bob", "WRITE"))
        .await
        .unwrap()
        .error(400, "level");
    alice
        .post(&permissions, &share("no spaces", "READ"))
        .await
        .unwrap()
        .error(400, "user");

    // Restricted fields on update are for privileged users, even on one's own actor.
    alice
        .patch(&format!("/actors/{a}"), &json!({"maxWorkers": 5}))
        .await
        .unwrap()
        .error(403, "maxWorkers");
    // Writing back what is there already is no change.
    alice
        .patch(&format!("/actors/{a}"), &json!({"maxWorkers": 10}))
        .await
        .unwrap()
        .ok();
}

async fn limited_users_are_throttled(platform: Platform) {
    let slow = platform.api_as("slow");
    let alice = platform.api_as("alice");
    let mut throttled = None;
    for attempt in 0..60 {
        let answer = slow.get("/actors").await.unwrap();
        if answer.status == 429 {
            throttled = Some((attempt, answer));
            break;
        }
        answer.ok();
    }
    let (attempt, answer) = throttled.expect("a limited user was never throttled");
    assert!(attempt >= 39, "throttled after only {attempt} requests");
    answer.error(429, "too many requests");
    // Others are not.
    for _ in 0..50 {
        alice.get("/actors").await.unwrap().ok();
    }
}
