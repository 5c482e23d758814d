//! Resource figures from Docker's stats, for both cgroup v1 and v2 engines.

use bollard::models::{ContainerBlkioStatEntry, ContainerStatsResponse};

/// Cumulative usage of one container, as far as the last sample knew it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time in nanoseconds.
    pub cpu_ns: u64,
    /// Block I/O plus network bytes, read and written.
    pub io_bytes: u64,
}

impl Usage {
    /// Figures of one stats sample.
    pub fn from_sample(sample: &ContainerStatsResponse) -> Self {
        let cpu_ns = sample
            .cpu_stats
            .as_ref()
            .and_then(|cpu| cpu.cpu_usage.as_ref())
            .and_then(|usage| usage.total_usage)
            .unwrap_or(0);
        let block = sample
            .blkio_stats
            .as_ref()
            .and_then(|blkio| blkio.io_service_bytes_recursive.as_deref())
            .map(block_bytes)
            .unwrap_or(0);
        let network = sample
            .networks
            .as_ref()
            .map(|networks| {
                networks.values().fold(0u64, |sum, net| {
                    sum.saturating_add(net.rx_bytes.unwrap_or(0))
                        .saturating_add(net.tx_bytes.unwrap_or(0))
                })
            })
            .unwrap_or(0);
        Self {
            cpu_ns,
            io_bytes: block.saturating_add(network),
        }
    }

    /// Keeps the larger of each figure. The counters only grow while a container lives, but
    /// the sample taken as it stops can come back zeroed, and must not wipe the last real one.
    pub fn merge(self, other: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns.max(other.cpu_ns),
            io_bytes: self.io_bytes.max(other.io_bytes),
        }
    }
}

/// Bytes read plus written. cgroup v1 reports "Read", "Write", "Sync", "Async" and "Total"
/// per device; v2 reports lowercase "read" and "write". Counting only read and write, in any
/// case, gives the same figure on both without counting anything twice.
fn block_bytes(entries: &[ContainerBlkioStatEntry]) -> u64 {
    entries
        .iter()
        .filter(|entry| {
            entry.op.as_deref().is_some_and(|op| {
                op.eq_ignore_ascii_case("read") || op.eq_ignore_ascii_case("write")
            })
        })
        .fold(0u64, |sum, entry| {
            sum.saturating_add(entry.value.unwrap_or(0))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerBlkioStats, ContainerCpuStats, ContainerCpuUsage, ContainerNetworkStats,
    };
    use std::collections::HashMap;

    fn entry(op: &str, value: u64) -> ContainerBlkioStatEntry {
        ContainerBlkioStatEntry {
            major: Some(8),
            minor: Some(0),
            op: Some(op.into()),
            value: Some(value),
        }
    }

    fn sample(entries: Option<Vec<ContainerBlkioStatEntry>>) -> ContainerStatsResponse {
        let mut networks = HashMap::new();
        networks.insert(
            "eth0".to_string(),
            ContainerNetworkStats {
                rx_bytes: Some(100),
                tx_bytes: Some(50),
                ..Default::default()
            },
        );
        ContainerStatsResponse {
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(1_234),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            blkio_stats: Some(ContainerBlkioStats {
                io_service_bytes_recursive: entries,
                ..Default::default()
            }),
            networks: Some(networks),
            ..Default::default()
        }
    }

    #[test]
    fn cgroup_v1_counts_read_and_write_not_total() {
        let usage = Usage::from_sample(&sample(Some(vec![
            entry("Read", 10),
            entry("Write", 20),
            entry("Sync", 30),
            entry("Async", 0),
            entry("Total", 30),
        ])));
        assert_eq!(
            usage,
            Usage {
                cpu_ns: 1_234,
                io_bytes: 10 + 20 + 150
            }
        );
    }

    #[test]
    fn cgroup_v2_lowercase_ops_and_null_lists() {
        let v2 = Usage::from_sample(&sample(Some(vec![entry("read", 7), entry("write", 3)])));
        assert_eq!(v2.io_bytes, 160);
        let null = Usage::from_sample(&sample(None));
        assert_eq!(null.io_bytes, 150);
        assert_eq!(
            Usage::from_sample(&ContainerStatsResponse::default()),
            Usage::default()
        );
    }

    #[test]
    fn merge_keeps_the_last_real_figures() {
        let real = Usage {
            cpu_ns: 5,
            io_bytes: 9,
        };
        assert_eq!(real.merge(Usage::default()), real);
    }
}
