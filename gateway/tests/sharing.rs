//! The sharing routes (permissions, aliases, nonces) and verified callers, against in-test
//! fakes of the gRPC services.

#![allow(clippy::unwrap_used)]

mod common;

use abaco::{
    pb,
    settings::{Case, Settings},
};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

#[tokio::test]
async fn sharing_bodies_are_read_from_json_and_forms() {
    let (router, fake) = start(Case::Camel).await;
    let answer = call(
        &router,
        post(
            "/actors/act1/permissions",
            "application/json",
            r#"{"user": "bob", "level": "execute"}"#,
        ),
    )
    .await
    .result();
    assert_eq!(answer, json!({"owner": "UPDATE", "bob": "EXECUTE"}));
    call(
        &router,
        post(
            "/actors/aliases/al/permissions",
            "application/x-www-form-urlencoded",
            "user=ABACO_WORLD&level=READ",
        ),
    )
    .await
    .result();
    let seen = fake.permissions.lock().unwrap().clone();
    assert_eq!(
        seen[1].target,
        Some(pb::AccessTarget {
            target: Some(pb::access_target::Target::Alias("al".into()))
        })
    );
    assert_eq!(seen[1].level, pb::PermissionLevel::Read as i32);

    let nonce = call(
        &router,
        post(
            "/actors/act1/nonces",
            "application/x-www-form-urlencoded",
            "maxUses=5&level=READ",
        ),
    )
    .await
    .result();
    assert_eq!(nonce["maxUses"], 5);
    assert_eq!(nonce["level"], "READ");
    assert_eq!(nonce["alias"], Value::Null);
    assert!(
        nonce["_links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/actors/act1/nonces/t_n1")
    );

    let message = call(
        &router,
        post(
            "/actors/act1/permissions",
            "application/json",
            r#"{"user": "bob"}"#,
        ),
    )
    .await
    .error(StatusCode::BAD_REQUEST);
    assert_eq!(message, "field \"level\" is required");
}

#[tokio::test]
async fn jwt_callers_are_verified_at_the_edge_and_vouched_for() {
    const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";
    let (router, fake) = start_with(|addr| Settings {
        auth: abaco::settings::AuthMode::Jwt,
        jwt_hs256_secret: Some(abaco::secret::Secret::new(SECRET)),
        internal_token: Some(abaco::secret::Secret::new("tok-123")),
        admins: vec!["root".into()],
        ..settings(addr, Case::Camel)
    })
    .await;
    // No token, or only a user header: 401 in the envelope, with the scheme to use.
    for request in [
        get("/actors/act1"),
        Request::get("/actors/act1")
            .header("X-Abaco-User", "root")
            .body(Body::empty())
            .unwrap(),
    ] {
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"abaco\""
        );
    }
    assert!(
        fake.users.lock().unwrap().is_empty(),
        "nothing reached a service"
    );
    let minter = abaco_auth::AccessTokenMinter::new(
        &abaco::secret::Secret::new(SECRET),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let token = minter.mint("tacc", "root", "act1").unwrap();
    let request = Request::get("/actors/act1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    call(&router, request).await.result();
    assert_eq!(fake.last_user(), "root");
    assert_eq!(
        fake.last_metadata("x-abaco-tenant").as_deref(),
        Some("tacc")
    );
    // root administers the default tenant, not tacc.
    assert_eq!(
        fake.last_metadata("x-abaco-role").as_deref(),
        Some("regular")
    );
    assert_eq!(
        fake.last_metadata("x-abaco-internal-token").as_deref(),
        Some("tok-123")
    );
    assert_eq!(
        fake.last_metadata("authorization"),
        None,
        "the token stays at the edge"
    );
}
