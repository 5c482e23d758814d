//! Roles from the settings: who administers, who is privileged and who is limited, per tenant.

use std::collections::{HashMap, HashSet};

use abaco::{identity::Role, settings::Settings};

/// The role lists of every tenant the settings name.
#[derive(Debug, Clone, Default)]
pub struct RolePolicy {
    default_tenant: String,
    by_tenant: HashMap<String, TenantRoles>,
}

#[derive(Debug, Clone, Default)]
struct TenantRoles {
    admins: HashSet<String>,
    privileged: HashSet<String>,
    limited: HashSet<String>,
}

impl RolePolicy {
    /// The lists of `settings`: the top-level ones for the default tenant, `tenants.<id>` for
    /// each tenant (the default one's lists of both kinds are merged).
    pub fn from_settings(settings: &Settings) -> Self {
        let default_tenant = settings.default_tenant.to_ascii_lowercase();
        let mut by_tenant: HashMap<String, TenantRoles> = HashMap::new();
        let default = by_tenant.entry(default_tenant.clone()).or_default();
        default.admins.extend(settings.admins.iter().cloned());
        default
            .privileged
            .extend(settings.privileged.iter().cloned());
        default.limited.extend(settings.limited.iter().cloned());
        for (tenant, lists) in &settings.tenants {
            let roles = by_tenant.entry(tenant.to_ascii_lowercase()).or_default();
            roles.admins.extend(lists.admins.iter().cloned());
            roles.privileged.extend(lists.privileged.iter().cloned());
            roles.limited.extend(lists.limited.iter().cloned());
        }
        Self {
            default_tenant,
            by_tenant,
        }
    }

    /// The tenant of callers whose credentials name none.
    pub fn default_tenant(&self) -> &str {
        &self.default_tenant
    }

    /// The role of `user` in `tenant`, combining the settings with `claimed` roles (from a
    /// token's roles claim): the highest of admin and privileged wins; otherwise limited if
    /// either source says so.
    pub fn role(&self, tenant: &str, user: &str, claimed: &[Role]) -> Role {
        let lists = self.by_tenant.get(tenant);
        let listed = |pick: fn(&TenantRoles) -> &HashSet<String>| {
            lists.is_some_and(|lists| pick(lists).contains(user))
        };
        let says = |role: Role| claimed.contains(&role);
        if listed(|l| &l.admins) || says(Role::Admin) {
            Role::Admin
        } else if listed(|l| &l.privileged) || says(Role::Privileged) {
            Role::Privileged
        } else if listed(|l| &l.limited) || says(Role::Limited) {
            Role::Limited
        } else {
            Role::Regular
        }
    }
}

/// The role an entry of a roles claim stands for, in abaco's spellings (`abaco_admin`,
/// `Internal/abaco-admin`) or plain (`admin`).
pub fn claimed_role(name: &str) -> Option<Role> {
    let name = name.trim().to_ascii_lowercase();
    let bare = name
        .strip_prefix("internal/abaco-")
        .or_else(|| name.strip_prefix("abaco_"))
        .or_else(|| name.strip_prefix("abaco-"))
        .unwrap_or(&name);
    match bare {
        "admin" => Some(Role::Admin),
        "privileged" => Some(Role::Privileged),
        "limited" => Some(Role::Limited),
        "user" | "regular" => Some(Role::Regular),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use abaco::settings::TenantSettings;

    use super::*;

    fn policy() -> RolePolicy {
        let mut settings = Settings {
            admins: vec!["root".into()],
            limited: vec!["slow".into()],
            ..Settings::default()
        };
        settings.tenants.insert(
            "Other".into(),
            TenantSettings {
                privileged: vec!["root".into()],
                ..TenantSettings::default()
            },
        );
        RolePolicy::from_settings(&settings)
    }

    #[test]
    fn roles_are_per_tenant() {
        let policy = policy();
        assert_eq!(policy.role("default", "root", &[]), Role::Admin);
        assert_eq!(policy.role("other", "root", &[]), Role::Privileged);
        assert_eq!(policy.role("third", "root", &[]), Role::Regular);
        assert_eq!(policy.role("default", "slow", &[]), Role::Limited);
        assert_eq!(policy.role("default", "alice", &[]), Role::Regular);
    }

    #[test]
    fn claimed_roles_add_to_the_settings() {
        let policy = policy();
        assert_eq!(
            policy.role("default", "alice", &[Role::Privileged]),
            Role::Privileged
        );
        assert_eq!(policy.role("default", "slow", &[Role::Admin]), Role::Admin);
        assert_eq!(claimed_role("Internal/abaco-admin"), Some(Role::Admin));
        assert_eq!(claimed_role("abaco_privileged"), Some(Role::Privileged));
        assert_eq!(claimed_role("abaco_limited"), Some(Role::Limited));
        assert_eq!(claimed_role("Internal/everyone"), None);
    }
}
