//! Who is calling. The edge (the gateway for REST, the authenticating wrapper of each gRPC
//! service) verifies the caller's credentials once and puts a [`Caller`] on the request; the
//! services read it from there and never look at credentials themselves.
//!
//! Between components the caller travels as metadata (`x-abaco-user`, `x-abaco-tenant`,
//! `x-abaco-role`, `x-nonce`), believed only from a call that also carries the platform's
//! internal token.

use tonic::metadata::{MetadataMap, MetadataValue};

use crate::AbacoError;

/// Metadata key of the caller's user name.
pub const USER_METADATA: &str = "x-abaco-user";
/// Metadata key of the caller's tenant.
pub const TENANT_METADATA: &str = "x-abaco-tenant";
/// Metadata key of the caller's role, as the edge decided it.
pub const ROLE_METADATA: &str = "x-abaco-role";
/// Metadata key of a nonce presented instead of a user's credentials (the REST query
/// parameter has the same name).
pub const NONCE_METADATA: &str = "x-nonce";
/// Metadata key of the token components prove they are part of the platform with.
pub const INTERNAL_TOKEN_METADATA: &str = "x-abaco-internal-token";

/// The user name that stands for everyone in a tenant in permissions.
pub const WORLD: &str = "ABACO_WORLD";

/// The user a call acts as in `header` mode when it names none.
pub const ANONYMOUS: &str = "anonymous";

/// What a caller may do besides what permissions grant, as abaco's roles have it. Ordered:
/// each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A regular user whose requests are throttled.
    Limited,
    /// A regular user.
    Regular,
    /// May set the restricted actor fields (`privileged`, `maxWorkers`, `memLimit`, ...).
    Privileged,
    /// Sees and manages everything of their tenant.
    Admin,
}

impl Role {
    /// The role's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Limited => "limited",
            Self::Regular => "regular",
            Self::Privileged => "privileged",
            Self::Admin => "admin",
        }
    }

    /// The role a name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "limited" => Some(Self::Limited),
            "regular" => Some(Self::Regular),
            "privileged" => Some(Self::Privileged),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The caller of one request, as the edge established it.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the caller belongs to; everything they see is of this tenant.
    pub tenant: String,
    /// The user the call acts as. Empty for a nonce not yet redeemed: the service that
    /// redeems it learns whose it is.
    pub user: String,
    /// The caller's role in its tenant.
    pub role: Role,
    /// The nonce the call was made with, if any. A call made with a nonce acts as the nonce's
    /// owner on one actor only, with no role, and may not share or create anything.
    pub nonce: Option<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A nonce is a credential: whether there is one, never which.
        f.debug_struct("Caller")
            .field("tenant", &self.tenant)
            .field("user", &self.user)
            .field("role", &self.role)
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Caller {
    /// A caller known by user name.
    pub fn user(tenant: impl Into<String>, user: impl Into<String>, role: Role) -> Self {
        Self {
            tenant: tenant.into(),
            user: user.into(),
            role,
            nonce: None,
        }
    }

    /// A caller who presented only a nonce.
    pub fn with_nonce(tenant: impl Into<String>, nonce: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            user: String::new(),
            role: Role::Regular,
            nonce: Some(nonce.into()),
        }
    }

    /// Whether the caller administers its tenant.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin && self.nonce.is_none()
    }

    /// Whether the caller may set the restricted actor fields.
    pub fn is_privileged(&self) -> bool {
        self.role >= Role::Privileged && self.nonce.is_none()
    }

    /// Whether the call was made with a nonce.
    pub fn via_nonce(&self) -> bool {
        self.nonce.is_some()
    }

    /// The caller the edge put on a gRPC request. A service reached without the edge has
    /// none, and then nobody is let in.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Self, AbacoError> {
        request.extensions().get::<Self>().cloned().ok_or_else(|| {
            AbacoError::Unauthenticated("the call carries no verified caller".into())
        })
    }

    /// Writes the caller into `metadata`, for a component that believes it (one that checks
    /// `internal_token`, sent along when there is one).
    pub fn forward(&self, metadata: &mut MetadataMap, internal_token: Option<&str>) {
        let mut put = |key: &'static str, value: &str| {
            // Every value was validated as visible ASCII on the way in; a bug still only drops it.
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(key, value);
            }
        };
        if !self.user.is_empty() {
            put(USER_METADATA, &self.user);
        }
        put(TENANT_METADATA, &self.tenant);
        put(ROLE_METADATA, self.role.name());
        if let Some(nonce) = &self.nonce {
            put(NONCE_METADATA, nonce);
        }
        if let Some(token) = internal_token {
            put(INTERNAL_TOKEN_METADATA, token);
        }
    }
}

/// Whether `user` is an acceptable user name: 1 to 64 of `A-Za-z0-9_.@-`, and not
/// [`WORLD`], which stands for everyone.
pub fn is_valid_user(user: &str) -> bool {
    user != WORLD
        && (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b))
}

/// Whether `tenant` is an acceptable tenant id: 1 to 64 of `a-z0-9.-` (tenant ids are
/// compared in lower case, since HTTP header names carry them without case).
pub fn is_valid_tenant(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Admin > Role::Privileged && Role::Privileged > Role::Regular);
        assert!(Role::Regular > Role::Limited);
        for role in [Role::Limited, Role::Regular, Role::Privileged, Role::Admin] {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_nonce_caller_has_no_role_powers() {
        let mut caller = Caller::with_nonce("t", "t_abc");
        caller.role = Role::Admin;
        assert!(!caller.is_admin());
        assert!(!caller.is_privileged());
        assert!(caller.via_nonce());
    }

    #[test]
    fn forwarding_writes_every_part() {
        let caller = Caller::user("tacc", "alice", Role::Privileged);
        let mut metadata = MetadataMap::new();
        caller.forward(&mut metadata, Some("tok"));
        let get = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        assert_eq!(get(USER_METADATA), Some("alice"));
        assert_eq!(get(TENANT_METADATA), Some("tacc"));
        assert_eq!(get(ROLE_METADATA), Some("privileged"));
        assert_eq!(get(INTERNAL_TOKEN_METADATA), Some("tok"));
        assert_eq!(get(NONCE_METADATA), None);
    }

    #[test]
    fn tenant_ids_are_lower_case() {
        assert!(is_valid_tenant("dev-develop"));
        assert!(!is_valid_tenant("DEV"));
        assert!(!is_valid_tenant(""));
        assert!(!is_valid_tenant("a_b"));
    }
}
