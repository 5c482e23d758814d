//! The authenticator against real tokens: HS256 with a secret, RS256 with a PEM key of one
//! tenant, ES256 from a JWKS file, each carrier, each way a token can be wrong, header mode,
//! the internal token, roles and the throttle of limited users.
#![allow(clippy::unwrap_used)]

use std::{path::Path, process::Command};

use abaco::{
    AbacoError,
    identity::{Caller, Role},
    secret::Secret,
    settings::{AuthMode, Settings, TenantSettings},
};
use abaco_auth::{AccessTokenMinter, Authenticator, Edge, SetupError};
use http::{HeaderMap, HeaderName, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};

const SECRET: &str = "an-hs256-secret-of-at-least-thirty-two-bytes";
const TENANT_SECRET: &str = "the-own-secret-of-tenant-dev-develop-0123";

fn signed(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn hs256(claims: &Value) -> String {
    signed(SECRET, claims)
}

fn jwt_settings() -> Settings {
    Settings {
        auth: AuthMode::Jwt,
        jwt_hs256_secret: Some(Secret::new(SECRET)),
        admins: vec!["root".into()],
        privileged: vec!["priv".into()],
        limited: vec!["slow".into()],
        limited_requests_per_minute: 2,
        internal_token: Some(Secret::new("internal-token-for-tests")),
        ..Settings::default()
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

fn bearer(token: &str) -> HeaderMap {
    headers(&[("authorization", &format!("Bearer {token}"))])
}

fn refused(auth: &Authenticator, headers: &HeaderMap) -> String {
    match auth.authenticate(headers, None, Edge::Rest) {
        Err(AbacoError::Unauthenticated(text)) => text,
        other => panic!("expected 401, got {other:?}"),
    }
}

#[test]
fn hs256_tokens_name_user_and_tenant_through_every_carrier() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    let token = hs256(&json!({"sub": "alice", "exp": now() + 60}));
    let caller = auth
        .authenticate(&bearer(&token), None, Edge::Rest)
        .unwrap();
    assert_eq!(caller, Caller::user("default", "alice", Role::Regular));

    let tapis = hs256(&json!({
        "tapis/username": "bob", "tapis/tenant_id": "TACC", "sub": "ignored", "exp": now() + 60
    }));
    let caller = auth
        .authenticate(&headers(&[("x-tapis-token", &tapis)]), None, Edge::Rest)
        .unwrap();
    assert_eq!(
        (caller.tenant.as_str(), caller.user.as_str()),
        ("tacc", "bob")
    );

    // abaco 2.x: the header names the tenant, whose own key signed a token that names none.
    let mut settings = jwt_settings();
    settings.tenants.insert(
        "dev-develop".into(),
        TenantSettings {
            jwt_hs256_secret: Some(Secret::new(TENANT_SECRET)),
            ..TenantSettings::default()
        },
    );
    let auth = Authenticator::for_settings(&settings).unwrap();
    let wso2 = signed(
        TENANT_SECRET,
        &json!({"http://wso2.org/claims/enduser": "carol@carbon.super", "exp": now() + 60}),
    );
    let caller = auth
        .authenticate(
            &headers(&[("x-jwt-assertion-DEV-DEVELOP", &wso2)]),
            None,
            Edge::Rest,
        )
        .unwrap();
    assert_eq!(
        (caller.tenant.as_str(), caller.user.as_str()),
        ("dev-develop", "carol")
    );

    let admin = hs256(&json!({"sub": "root", "exp": now() + 60}));
    let caller = auth
        .authenticate(&bearer(&admin), None, Edge::Rest)
        .unwrap();
    assert!(caller.is_admin());
}

#[test]
fn bad_tokens_are_401_saying_why_without_echoing_them() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    let cases = [
        (hs256(&json!({"sub": "a", "exp": now() - 3600})), "expired"),
        (
            hs256(&json!({"sub": "a", "exp": now() + 3600, "nbf": now() + 3600})),
            "not valid yet",
        ),
        (hs256(&json!({"sub": "a"})), "exp"),
        (hs256(&json!({"exp": now() + 60})), "no user"),
        (
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &json!({"sub": "a", "exp": now() + 60}),
                &EncodingKey::from_secret(b"another-secret-of-at-least-thirty-two-bytes"),
            )
            .unwrap(),
            "signature",
        ),
        ("not.a.token".to_string(), "malformed"),
    ];
    for (token, why) in cases {
        let text = refused(&auth, &bearer(&token));
        assert!(text.contains(why), "{why}: {text}");
        assert!(!text.contains(&token), "the message echoes the token");
    }
    assert!(refused(&auth, &HeaderMap::new()).contains("no credentials"));
    assert!(refused(&auth, &headers(&[("authorization", "Basic abc")])).contains("Bearer"));
}

#[test]
fn a_header_cannot_move_a_token_into_another_tenant() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    // A token of tenant evil, sent in the header of the default tenant (where root is admin).
    let evil = hs256(&json!({"sub": "root", "tenant": "evil", "exp": now() + 60}));
    let text = refused(&auth, &headers(&[("x-jwt-assertion-default", &evil)]));
    assert!(text.contains("names tenant evil"), "{text}");
    // A token that names no tenant, signed with the platform-wide key: only a tenant's own
    // key may place it in the tenant its header names.
    let bare = hs256(&json!({"sub": "root", "exp": now() + 60}));
    let text = refused(&auth, &headers(&[("x-jwt-assertion-other", &bare)]));
    assert!(text.contains("no key of tenant other"), "{text}");
    // The same token as a bearer belongs to the default tenant.
    let caller = auth.authenticate(&bearer(&bare), None, Edge::Rest).unwrap();
    assert_eq!(caller.tenant, "default");
}

#[test]
fn jwt_mode_ignores_a_forged_user_header() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    refused(&auth, &headers(&[("x-abaco-user", "root")]));
    let token = hs256(&json!({"sub": "alice", "exp": now() + 60}));
    let mut both = bearer(&token);
    both.insert("x-abaco-user", HeaderValue::from_static("root"));
    let caller = auth.authenticate(&both, None, Edge::Rest).unwrap();
    assert_eq!(caller.user, "alice");
    assert!(!caller.is_admin());
}

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed to make test keys");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rs256_keys_of_a_tenant_verify_only_that_tenants_tokens() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
        dir.path(),
    );
    openssl(
        &["pkey", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub.pem"],
        dir.path(),
    );
    let mut settings = jwt_settings();
    settings.tenants.insert(
        "tacc".into(),
        TenantSettings {
            jwt_public_keys: vec![dir.path().join("rsa.pub.pem")],
            admins: vec!["boss".into()],
            ..TenantSettings::default()
        },
    );
    let auth = Authenticator::for_settings(&settings).unwrap();
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(dir.path().join("rsa.pem")).unwrap()).unwrap();
    let sign = |claims: Value| {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap()
    };
    let token = sign(json!({"sub": "boss", "tenant": "tacc", "exp": now() + 60}));
    let caller = auth
        .authenticate(&bearer(&token), None, Edge::Rest)
        .unwrap();
    assert_eq!(caller.tenant, "tacc");
    assert!(caller.is_admin());
    // The same key does not speak for another tenant.
    let other = sign(json!({"sub": "boss", "tenant": "other", "exp": now() + 60}));
    assert!(refused(&auth, &bearer(&other)).contains("no key of tenant other"));
}

#[test]
fn es256_keys_come_from_a_jwks_file_by_key_id() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
        dir.path(),
    );
    openssl(
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "ec8.pem",
        ],
        dir.path(),
    );
    let key =
        EncodingKey::from_ec_pem(&std::fs::read(dir.path().join("ec8.pem")).unwrap()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".into());
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({ "keys": [jwk] }).to_string()).unwrap();
    let settings = Settings {
        auth: AuthMode::Jwt,
        jwks_file: Some(jwks),
        ..Settings::default()
    };
    let auth = Authenticator::for_settings(&settings).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let token =
        jsonwebtoken::encode(&header, &json!({"sub": "eve", "exp": now() + 60}), &key).unwrap();
    let caller = auth
        .authenticate(&bearer(&token), None, Edge::Rest)
        .unwrap();
    assert_eq!(caller.user, "eve");
    // An HS256 token finds no key of its kind here.
    let hs = hs256(&json!({"sub": "eve", "exp": now() + 60}));
    assert!(refused(&auth, &bearer(&hs)).contains("no key"));
}

#[test]
fn issuer_audience_and_roles_claim_are_checked_when_configured() {
    let settings = Settings {
        jwt_issuer: Some("https://idp".into()),
        jwt_audience: Some("abaco".into()),
        roles_claim: Some("roles".into()),
        ..jwt_settings()
    };
    let auth = Authenticator::for_settings(&settings).unwrap();
    let good = hs256(&json!({
        "sub": "dana", "iss": "https://idp", "aud": "abaco", "exp": now() + 60,
        "roles": ["Internal/everyone", "Internal/abaco-privileged"]
    }));
    let caller = auth.authenticate(&bearer(&good), None, Edge::Rest).unwrap();
    assert_eq!(caller.role, Role::Privileged);
    let stranger =
        hs256(&json!({"sub": "dana", "iss": "https://other", "aud": "abaco", "exp": now() + 60}));
    assert!(refused(&auth, &bearer(&stranger)).contains("issuer"));
}

#[test]
fn access_tokens_of_runs_are_accepted_whatever_the_issuer_setting() {
    let settings = Settings {
        jwt_issuer: Some("https://idp".into()),
        ..jwt_settings()
    };
    let auth = Authenticator::for_settings(&settings).unwrap();
    let minter =
        AccessTokenMinter::new(&Secret::new(SECRET), std::time::Duration::from_secs(60)).unwrap();
    let token = minter.mint("tacc", "alice", "0actor").unwrap();
    let caller = auth
        .authenticate(&bearer(&token), None, Edge::Rest)
        .unwrap();
    assert_eq!(caller, Caller::user("tacc", "alice", Role::Regular));
}

#[test]
fn header_mode_names_the_user_and_is_for_loopback_only() {
    let settings = Settings {
        admins: vec!["root".into()],
        ..Settings::default()
    };
    let auth = Authenticator::for_settings(&settings).unwrap();
    let caller = auth
        .authenticate(&HeaderMap::new(), None, Edge::Rest)
        .unwrap();
    assert_eq!(caller, Caller::user("default", "anonymous", Role::Regular));
    let caller = auth
        .authenticate(
            &headers(&[("x-abaco-user", "root"), ("x-abaco-tenant", "Lab")]),
            None,
            Edge::Rest,
        )
        .unwrap();
    assert_eq!(
        (caller.tenant.as_str(), caller.role),
        ("lab", Role::Regular)
    );
    assert!(matches!(
        auth.authenticate(&headers(&[("x-abaco-user", "no spaces")]), None, Edge::Rest),
        Err(AbacoError::Invalid(_))
    ));
    let loopback = ["127.0.0.1:8000".parse().unwrap()];
    assert!(Authenticator::new(&settings, &loopback).is_ok());
    let open = ["0.0.0.0:8000".parse().unwrap()];
    assert!(matches!(
        Authenticator::new(&settings, &open),
        Err(SetupError::HeaderModeOffLoopback(_))
    ));
    assert!(matches!(
        Authenticator::for_settings(&Settings {
            auth: AuthMode::Jwt,
            ..Settings::default()
        }),
        Err(SetupError::NoKeys)
    ));
}

#[test]
fn a_nonce_alone_is_a_caller_of_its_tenant() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    let nonce = abaco_auth::nonces::new_id("tacc");
    let caller = auth
        .authenticate(&HeaderMap::new(), Some(&nonce), Edge::Rest)
        .unwrap();
    assert_eq!(caller.tenant, "tacc");
    assert!(caller.user.is_empty() && caller.via_nonce());
    assert!(refused_with_nonce(&auth, "garbage").contains("x-nonce"));
}

fn refused_with_nonce(auth: &Authenticator, nonce: &str) -> String {
    match auth.authenticate(&HeaderMap::new(), Some(nonce), Edge::Rest) {
        Err(AbacoError::Unauthenticated(text)) => text,
        other => panic!("expected 401, got {other:?}"),
    }
}

#[test]
fn only_the_internal_token_makes_an_asserted_caller_believed() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    let asserted = [
        ("x-abaco-user", "root"),
        ("x-abaco-tenant", "default"),
        ("x-abaco-role", "admin"),
    ];
    let mut with_token = headers(&asserted);
    with_token.insert(
        "x-abaco-internal-token",
        HeaderValue::from_static("internal-token-for-tests"),
    );
    let caller = auth.authenticate(&with_token, None, Edge::Grpc).unwrap();
    assert!(caller.is_admin());
    // Not at the REST edge, and not with a wrong token or none.
    refused(&auth, &with_token);
    let mut wrong = headers(&asserted);
    wrong.insert("x-abaco-internal-token", HeaderValue::from_static("guess"));
    assert!(matches!(
        auth.authenticate(&wrong, None, Edge::Grpc),
        Err(AbacoError::Unauthenticated(_))
    ));
    assert!(matches!(
        auth.authenticate(&headers(&asserted), None, Edge::Grpc),
        Err(AbacoError::Unauthenticated(_))
    ));
}

#[test]
fn limited_users_are_throttled_per_minute() {
    let auth = Authenticator::for_settings(&jwt_settings()).unwrap();
    let slow = bearer(&hs256(&json!({"sub": "slow", "exp": now() + 60})));
    let fast = bearer(&hs256(&json!({"sub": "alice", "exp": now() + 60})));
    for _ in 0..2 {
        auth.authenticate(&slow, None, Edge::Rest).unwrap();
    }
    assert!(matches!(
        auth.authenticate(&slow, None, Edge::Rest),
        Err(AbacoError::TooMuch(_))
    ));
    for _ in 0..5 {
        auth.authenticate(&fast, None, Edge::Rest).unwrap();
    }
}
