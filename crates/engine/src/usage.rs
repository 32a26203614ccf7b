//! The running machine's resource use (`GET /v1/usage`): berthd's snapshot, and the reading the CLI and
//! the app show — CPU % from two snapshots, memory and disk in use, and the memory the hypervisor process
//! takes on this computer.

use berth_api::Usage;
use serde::{Deserialize, Serialize};

use crate::{control, Engine, Result};

impl Engine {
    /// The machine's usage now: cumulative guest CPU time (take two snapshots for a CPU %), guest memory,
    /// the data disk and the hypervisor's resident memory. `NotRunning` without a daemon; `Rejected`
    /// (berthd's words) while the machine starts or stops.
    pub async fn usage(&self) -> Result<Usage> {
        control::get::<Usage>(&self.paths, "/v1/usage").await
    }
}

/// The guest's CPU use between two snapshots, as a share of all its CPUs (0–100; 100 is every CPU
/// busy). `None` when no time passed between them or the guest restarted in between.
pub fn cpu_percent(earlier: &Usage, later: &Usage) -> Option<f64> {
    let total = later.cpu.total_jiffies.checked_sub(earlier.cpu.total_jiffies)?;
    let busy = later.cpu.busy_jiffies.checked_sub(earlier.cpu.busy_jiffies)?;
    if total == 0 {
        return None;
    }
    Some((busy as f64 / total as f64 * 100.0).clamp(0.0, 100.0))
}

/// One reading of the machine's use, as `berth status` and the app's Home screen show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReading {
    /// CPU use since the previous snapshot, 0–100 of all the guest's CPUs; `None` for a first snapshot.
    pub cpu_percent: Option<f64>,
    /// The guest's CPUs.
    pub cpus: u32,
    /// Guest memory in use (without the reclaimable page cache), bytes.
    pub memory_used_bytes: u64,
    /// Guest memory, bytes.
    pub memory_total_bytes: u64,
    /// Data disk in use, bytes (`None` when the guest could not measure it).
    pub disk_used_bytes: Option<u64>,
    /// Data disk size (the filesystem's), bytes.
    pub disk_size_bytes: Option<u64>,
    /// Resident memory of the hypervisor process on this computer, bytes (`None` where unknown).
    pub host_rss_bytes: Option<u64>,
}

impl UsageReading {
    /// The reading of `now`, with CPU % measured since `earlier` when there is one.
    pub fn new(earlier: Option<&Usage>, now: &Usage) -> UsageReading {
        UsageReading {
            cpu_percent: earlier.and_then(|e| cpu_percent(e, now)),
            cpus: now.cpu.cpus,
            memory_used_bytes: now.memory.used_bytes,
            memory_total_bytes: now.memory.total_bytes,
            disk_used_bytes: now.disk.map(|d| d.used_bytes),
            disk_size_bytes: now.disk.map(|d| d.size_bytes),
            host_rss_bytes: now.host_rss_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use berth_api::{CpuTimes, DiskUsage, MemoryUsage};

    use super::*;

    fn at(busy: u64, total: u64) -> Usage {
        Usage {
            cpu: CpuTimes {
                busy_jiffies: busy,
                total_jiffies: total,
                cpus: 2,
            },
            memory: MemoryUsage {
                total_bytes: 2 << 30,
                used_bytes: 512 << 20,
                available_bytes: (2 << 30) - (512 << 20),
            },
            disk: Some(DiskUsage {
                size_bytes: 64 << 30,
                used_bytes: 1 << 30,
                free_bytes: 60 << 30,
            }),
            host_rss_bytes: Some(300 << 20),
        }
    }

    #[test]
    fn cpu_percent_is_busy_over_total_between_snapshots() {
        // Two CPUs over 2 s at 100 ticks/s: 400 ticks, 100 of them busy = a quarter of the machine.
        assert_eq!(cpu_percent(&at(1_000, 10_000), &at(1_100, 10_400)), Some(25.0));
        assert_eq!(cpu_percent(&at(0, 0), &at(400, 400)), Some(100.0));
        assert_eq!(cpu_percent(&at(5, 100), &at(5, 300)), Some(0.0));
    }

    #[test]
    fn no_percent_without_elapsed_time_or_across_a_guest_restart() {
        assert_eq!(cpu_percent(&at(10, 100), &at(10, 100)), None, "no time passed");
        assert_eq!(
            cpu_percent(&at(900, 90_000), &at(10, 300)),
            None,
            "counters went back"
        );
        // Busy may never exceed total; a torn reading is clamped rather than shown as 150 %.
        assert_eq!(cpu_percent(&at(0, 100), &at(300, 300)), Some(100.0));
    }

    #[test]
    fn a_reading_carries_memory_disk_and_the_host_side() {
        let first = UsageReading::new(None, &at(1, 10));
        assert_eq!(first.cpu_percent, None);
        assert_eq!(
            (first.memory_used_bytes, first.memory_total_bytes),
            (512 << 20, 2 << 30)
        );
        assert_eq!(
            (first.disk_used_bytes, first.disk_size_bytes),
            (Some(1 << 30), Some(64 << 30))
        );
        assert_eq!((first.cpus, first.host_rss_bytes), (2, Some(300 << 20)));
        let next = UsageReading::new(Some(&at(1, 10)), &at(51, 110));
        assert_eq!(next.cpu_percent, Some(50.0));
        let json = serde_json::to_value(next).unwrap();
        assert_eq!(json["cpu_percent"], 50.0);
        assert_eq!(json["memory_total_bytes"], 2u64 << 30);
    }

    #[tokio::test]
    async fn usage_of_a_stopped_machine_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::with_paths(berth_api::MachinePaths {
            name: "t".into(),
            data_dir: dir.path().join("data"),
            run_dir: dir.path().join("run"),
        });
        assert!(matches!(e.usage().await, Err(crate::Error::NotRunning)));
    }
}
