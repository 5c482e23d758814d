//! What a run may do to its host: every run starts with no capabilities, no way to gain
//! privileges, a process limit, memory and CPU limits, a capped Docker log, Docker's init as
//! PID 1, and no host path but its own run directory (and the mounts an administrator
//! configured). Only a `privileged` actor (which only admins and privileged users can
//! register) runs privileged, with the host's Docker socket.

use std::collections::HashMap;

use bollard::models::{HostConfig, HostConfigLogConfig};

use super::RunSpec;

/// The host's Docker socket, given to privileged runs as abaco does.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// How runs on this host are confined; the same for every run.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Capabilities given back to unprivileged runs.
    pub cap_add: Vec<String>,
    /// Most processes a run may have.
    pub pids_limit: i64,
    /// Docker's `max-size` of a run's log file.
    pub log_max_size: String,
    /// Docker's `max-file`.
    pub log_max_files: u32,
    /// `bridge` or `none`.
    pub network: String,
    /// A read-only root filesystem with a tmpfs at /tmp.
    pub read_only_rootfs: bool,
    /// Size of that tmpfs.
    pub tmpfs_size: String,
    /// Docker's init as PID 1.
    pub init: bool,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self {
            cap_add: Vec::new(),
            pids_limit: 512,
            log_max_size: "10m".into(),
            log_max_files: 2,
            network: "bridge".into(),
            read_only_rootfs: false,
            tmpfs_size: "64m".into(),
            init: true,
        }
    }
}

impl Sandbox {
    /// The host configuration of one run, with `binds` (its run directory) mounted.
    pub(super) fn host_config(&self, spec: &RunSpec, mut binds: Vec<String>) -> HostConfig {
        binds.extend(spec.mounts.iter().cloned());
        let memory = spec.mem_limit.and_then(|v| i64::try_from(v).ok());
        let mut config = HostConfig {
            memory,
            // The limit is the limit: no swap beyond it, so a hog meets the OOM killer instead
            // of slowing the host down.
            memory_swap: memory,
            nano_cpus: spec.nano_cpus.and_then(|v| i64::try_from(v).ok()),
            pids_limit: Some(self.pids_limit),
            init: Some(self.init),
            network_mode: Some(match &spec.network_of {
                Some(holder) => format!("container:{holder}"),
                None => self.network.clone(),
            }),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".into()),
                config: Some(HashMap::from([
                    ("max-size".to_string(), self.log_max_size.clone()),
                    ("max-file".to_string(), self.log_max_files.to_string()),
                ])),
            }),
            ..Default::default()
        };
        if spec.privileged {
            binds.push(format!("{DOCKER_SOCKET}:{DOCKER_SOCKET}"));
            config.privileged = Some(true);
        } else {
            config.privileged = Some(false);
            config.cap_drop = Some(vec!["ALL".into()]);
            config.cap_add = (!self.cap_add.is_empty()).then(|| self.cap_add.clone());
            config.security_opt = Some(vec!["no-new-privileges:true".into()]);
        }
        if self.read_only_rootfs {
            config.readonly_rootfs = Some(true);
            config.tmpfs = Some(HashMap::from([(
                "/tmp".to_string(),
                format!("rw,nosuid,nodev,size={}", self.tmpfs_size),
            )]));
        }
        config.binds = Some(binds);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunSpec {
        RunSpec {
            mem_limit: Some(64 << 20),
            nano_cpus: Some(500_000_000),
            ..RunSpec::default()
        }
    }

    #[test]
    fn a_run_with_a_holder_joins_its_network() {
        let joined = RunSpec {
            network_of: Some("c0ffee".into()),
            ..spec()
        };
        let sandbox = Sandbox::default();
        let mode = |spec: &RunSpec| sandbox.host_config(spec, Vec::new()).network_mode;
        assert_eq!(mode(&joined).as_deref(), Some("container:c0ffee"));
        assert_eq!(mode(&spec()).as_deref(), Some("bridge"));
    }

    #[test]
    fn unprivileged_runs_lose_every_capability_and_carry_limits() {
        let config = Sandbox::default().host_config(&spec(), vec!["/run/x:/run/x".into()]);
        assert_eq!(config.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(config.cap_add, None);
        assert_eq!(
            config.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(config.privileged, Some(false));
        assert_eq!(config.pids_limit, Some(512));
        assert_eq!(config.memory, Some(64 << 20));
        assert_eq!(config.memory_swap, Some(64 << 20));
        assert_eq!(config.init, Some(true));
        assert_eq!(config.binds, Some(vec!["/run/x:/run/x".to_string()]));
        let log = config.log_config.unwrap_or_default();
        assert_eq!(log.config.unwrap_or_default()["max-size"], "10m");
    }

    #[test]
    fn privileged_runs_get_the_docker_socket_and_keep_their_limits() {
        let privileged = RunSpec {
            privileged: true,
            ..spec()
        };
        let config = Sandbox::default().host_config(&privileged, Vec::new());
        assert_eq!(config.privileged, Some(true));
        assert_eq!(config.cap_drop, None);
        assert!(
            config
                .binds
                .unwrap_or_default()
                .contains(&format!("{DOCKER_SOCKET}:{DOCKER_SOCKET}"))
        );
        assert_eq!(config.pids_limit, Some(512));
    }

    #[test]
    fn a_read_only_root_gets_a_writable_tmp() {
        let sandbox = Sandbox {
            read_only_rootfs: true,
            cap_add: vec!["NET_BIND_SERVICE".into()],
            network: "none".into(),
            ..Sandbox::default()
        };
        let config = sandbox.host_config(&spec(), Vec::new());
        assert_eq!(config.readonly_rootfs, Some(true));
        assert!(config.tmpfs.unwrap_or_default()["/tmp"].contains("size=64m"));
        assert_eq!(config.cap_add, Some(vec!["NET_BIND_SERVICE".to_string()]));
        assert_eq!(config.network_mode.as_deref(), Some("none"));
    }
}
