//! `GET /v1/usage`: what the running machine uses now — the guest's CPU time, memory and data disk as its
//! agent measures them, and the hypervisor process's resident memory as the host measures it.

use serde::{Deserialize, Serialize};

/// Cumulative CPU time of the guest, in clock ticks since it booted; CPU use is the change between two
/// readings (`berth_engine::cpu_percent`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    /// Ticks spent working (neither idle nor waiting for I/O), all CPUs together.
    pub busy_jiffies: u64,
    /// All ticks, all CPUs together.
    pub total_jiffies: u64,
    /// The guest's online CPUs.
    pub cpus: u32,
}

/// The guest's memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUsage {
    /// Memory the guest kernel manages, bytes.
    pub total_bytes: u64,
    /// In use: total − available (the reclaimable page cache does not count).
    pub used_bytes: u64,
    /// Available to programs without swapping, bytes.
    pub available_bytes: u64,
}

/// The data disk as the guest sees it (the filesystem holding `/var/lib/docker`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Filesystem size, bytes.
    pub size_bytes: u64,
    /// In use, bytes.
    pub used_bytes: u64,
    /// Still available, bytes.
    pub free_bytes: u64,
}

/// The answer of `GET /v1/usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Guest CPU time.
    pub cpu: CpuTimes,
    /// Guest memory.
    pub memory: MemoryUsage,
    /// The data disk; `None` when the guest could not measure it.
    pub disk: Option<DiskUsage>,
    /// Resident memory of the hypervisor process on the host (`VmRSS`): what the computer pays for the
    /// guest. `None` where berthd cannot read it (not Linux) or the process is gone.
    pub host_rss_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_round_trips_as_json() {
        let u = Usage {
            cpu: CpuTimes {
                busy_jiffies: 5,
                total_jiffies: 50,
                cpus: 2,
            },
            memory: MemoryUsage {
                total_bytes: 100,
                used_bytes: 40,
                available_bytes: 60,
            },
            disk: Some(DiskUsage {
                size_bytes: 1000,
                used_bytes: 10,
                free_bytes: 900,
            }),
            host_rss_bytes: None,
        };
        let json = serde_json::to_string(&u).unwrap();
        assert!(json.contains(r#""host_rss_bytes":null"#), "{json}");
        assert_eq!(serde_json::from_str::<Usage>(&json).unwrap(), u);
    }
}
