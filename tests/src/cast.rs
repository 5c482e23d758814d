//! The callers of the access tests: a platform in `jwt` mode, an actor owned by `alice`, and
//! one caller of every kind abaco knows (each role, another tenant, a nonce, nobody, and a
//! forger who only names a user).

use serde_json::json;

use crate::{Api, BackendKind, Platform};

/// Settings of the access tests' platforms, besides `jwt` mode: `root` administers the
/// default tenant, `priv` is privileged, `slow` is limited, a tenant `other` exists, and runs'
/// tokens are signed with a secret of their own.
pub const ACCESS_SETTINGS: &[(&str, &str)] = &[
    ("ABACO_PRIVILEGED", "[anonymous, priv]"),
    ("ABACO_LIMITED", "[slow]"),
    ("ABACO_LIMITED_REQUESTS_PER_MINUTE", "40"),
    ("ABACO_TENANTS__OTHER__ADMINS", "[otherroot]"),
    // Runs' tokens have a key of their own (workers never hold jwt_hs256_secret).
    (
        "ABACO_ACCESS_TOKEN_SECRET",
        "the-access-token-secret-of-the-test-suite",
    ),
];

/// Starts a platform for the access tests.
pub async fn access_platform(kind: BackendKind) -> Platform {
    Platform::start_jwt(kind, ACCESS_SETTINGS).await
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// `root`, administrator of the default tenant.
    Admin,
    /// `priv`, a privileged user.
    Privileged,
    /// `alice`, who owns the actor.
    Owner,
    /// `bob`, a regular user the actor is not shared with.
    Regular,
    /// `slow`, a limited user.
    Limited,
    /// `eve` of the tenant `other`.
    OtherTenant,
    /// The bearer of alice's EXECUTE nonce on the actor, and nothing else.
    Nonce,
    /// No credentials at all.
    NoToken,
    /// `X-Abaco-User: root` and no token.
    Forged,
}

impl Who {
    /// Every kind of caller, in the order of the matrix's columns.
    pub const ALL: [Who; 9] = [
        Who::Admin,
        Who::Privileged,
        Who::Owner,
        Who::Regular,
        Who::Limited,
        Who::OtherTenant,
        Who::Nonce,
        Who::NoToken,
        Who::Forged,
    ];

    /// The user name, for callers that have one.
    pub fn user(self) -> Option<&'static str> {
        match self {
            Who::Admin => Some("root"),
            Who::Privileged => Some("priv"),
            Who::Owner => Some("alice"),
            Who::Regular => Some("bob"),
            Who::Limited => Some("slow"),
            Who::OtherTenant => Some("eve"),
            Who::Nonce | Who::NoToken | Who::Forged => None,
        }
    }
}

/// The callers, the actor and the nonce.
#[derive(Debug, Clone)]
pub struct Cast {
    /// alice's actor.
    pub actor: String,
    /// alice's EXECUTE nonce on it.
    pub nonce: String,
    apis: Vec<(Who, Api)>,
}

impl Cast {
    /// alice registers an echo actor and makes an EXECUTE nonce for it.
    pub async fn new(platform: &Platform) -> Self {
        let mut apis = Vec::new();
        for who in Who::ALL {
            let api = match who {
                Who::OtherTenant => platform
                    .api
                    .with_token(&platform.token("eve", Some("other"))),
                Who::Nonce | Who::NoToken => platform.api.clone(),
                Who::Forged => platform.api.with_header("x-abaco-user", "root"),
                _ => platform.api_as(who.user().unwrap_or_default()),
            };
            apis.push((who, api));
        }
        let alice = platform.api_as("alice");
        let actor = alice
            .post(
                "/actors",
                &json!({"image": "abaco/sample-echo", "name": "shared"}),
            )
            .await
            .unwrap()
            .id();
        let nonce = alice
            .post(
                &format!("/actors/{actor}/nonces"),
                &json!({"level": "EXECUTE"}),
            )
            .await
            .unwrap()
            .id();
        Self { actor, nonce, apis }
    }

    /// The API as `who`.
    pub fn api(&self, who: Who) -> &Api {
        &self
            .apis
            .iter()
            .find(|(w, _)| *w == who)
            .unwrap_or_else(|| unreachable!("every caller has an API"))
            .1
    }

    /// `path` as `who` requests it: with `x-nonce` for the nonce's bearer.
    pub fn path(&self, who: Who, path: &str) -> String {
        if who != Who::Nonce {
            return path.to_string();
        }
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}x-nonce={}", self.nonce)
    }
}
