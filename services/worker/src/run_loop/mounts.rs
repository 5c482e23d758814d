//! Host directories administrators mount into the runs of a tenant's actors (abaco's global
//! mounts). Users cannot mount anything; `{username}` in a path stands for the actor's owner.

use std::collections::HashMap;

use abaco::settings::MountSettings;

/// Why a configured mount was refused at start.
#[derive(Debug, thiserror::Error)]
#[error("mount {host_path:?} -> {container_path:?}: {reason}")]
pub struct MountError {
    host_path: String,
    container_path: String,
    reason: &'static str,
}

/// The mounts of each tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantMounts {
    by_tenant: HashMap<String, Vec<MountSettings>>,
}

impl TenantMounts {
    /// Mounts by tenant, checked: absolute paths, `ro` or `rw`.
    pub fn new(by_tenant: HashMap<String, Vec<MountSettings>>) -> Result<Self, MountError> {
        for mount in by_tenant.values().flatten() {
            let refuse = |reason| MountError {
                host_path: mount.host_path.clone(),
                container_path: mount.container_path.clone(),
                reason,
            };
            if !mount.host_path.starts_with('/') || !mount.container_path.starts_with('/') {
                return Err(refuse("both paths must be absolute"));
            }
            if !matches!(mount.mode.as_str(), "" | "ro" | "rw") {
                return Err(refuse("mode must be ro or rw"));
            }
            if mount.host_path.contains(':') || mount.container_path.contains(':') {
                return Err(refuse("paths cannot contain ':'"));
            }
        }
        Ok(Self { by_tenant })
    }

    /// Docker binds (`host:container:mode`) for a run of `owner`'s actor in `tenant`. A mount
    /// whose template would not make a plain directory name of the owner (`.`, `..`) is left
    /// out, so no name can reach outside its place.
    pub fn binds(&self, tenant: &str, owner: &str) -> Vec<String> {
        let usable = !owner.is_empty() && owner != "." && owner != "..";
        self.by_tenant
            .get(tenant)
            .into_iter()
            .flatten()
            .filter(|mount| {
                usable
                    || !(mount.host_path.contains("{username}")
                        || mount.container_path.contains("{username}"))
            })
            .map(|mount| {
                let mode = if mount.mode.is_empty() {
                    "ro"
                } else {
                    &mount.mode
                };
                format!(
                    "{}:{}:{mode}",
                    mount.host_path.replace("{username}", owner),
                    mount.container_path.replace("{username}", owner)
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(host: &str, container: &str, mode: &str) -> MountSettings {
        MountSettings {
            host_path: host.into(),
            container_path: container.into(),
            mode: mode.into(),
        }
    }

    #[test]
    fn templates_name_the_owner_and_default_to_read_only() {
        let mounts = TenantMounts::new(HashMap::from([(
            "tacc".to_string(),
            vec![
                mount("/work/{username}", "/work", "rw"),
                mount("/corral", "/corral", ""),
            ],
        )]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            mounts.binds("tacc", "alice"),
            vec!["/work/alice:/work:rw", "/corral:/corral:ro"]
        );
        assert!(mounts.binds("other", "alice").is_empty());
        assert_eq!(mounts.binds("tacc", ".."), vec!["/corral:/corral:ro"]);
    }

    #[test]
    fn bad_mounts_are_refused() {
        for bad in [
            mount("relative", "/x", "ro"),
            mount("/x", "/y", "rwx"),
            mount("/x:/etc", "/y", "ro"),
        ] {
            assert!(TenantMounts::new(HashMap::from([("t".to_string(), vec![bad])])).is_err());
        }
    }
}
