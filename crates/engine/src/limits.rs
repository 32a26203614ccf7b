//! The ranges settings must fall in, as the UI needs them to validate before asking: berth-api's ranges,
//! and the data disk's current size (it never shrinks below it).

use berth_api::{CPUS_RANGE, DISK_GIB_RANGE, MEMORY_MIB_RANGE};
use serde::{Deserialize, Serialize};

use crate::Engine;

/// An inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range<T> {
    /// Smallest valid value.
    pub min: T,
    /// Largest valid value.
    pub max: T,
}

/// What each numeric setting may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsLimits {
    /// Virtual CPUs.
    pub cpus: Range<u32>,
    /// Memory in MiB.
    pub memory_mib: Range<u64>,
    /// Data disk in GiB.
    pub disk_gib: Range<u64>,
    /// The data disk's current size in GiB (0 before the first start): a smaller size is refused.
    pub disk_now_gib: u64,
}

impl Engine {
    /// The valid ranges of this machine's settings.
    pub fn settings_limits(&self) -> SettingsLimits {
        // The same measure `set_settings` refuses a shrink by.
        let disk_now_gib = std::fs::metadata(self.paths().data_disk())
            .map(|m| m.len() >> 30)
            .unwrap_or(0);
        SettingsLimits {
            cpus: Range {
                min: *CPUS_RANGE.start(),
                max: *CPUS_RANGE.end(),
            },
            memory_mib: Range {
                min: *MEMORY_MIB_RANGE.start(),
                max: *MEMORY_MIB_RANGE.end(),
            },
            disk_gib: Range {
                min: *DISK_GIB_RANGE.start(),
                max: *DISK_GIB_RANGE.end(),
            },
            disk_now_gib,
        }
    }
}

#[cfg(test)]
mod tests {
    use berth_api::MachinePaths;

    use super::*;

    #[test]
    fn limits_are_the_api_ranges_and_the_disk_never_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::with_paths(MachinePaths {
            name: "t".into(),
            data_dir: dir.path().into(),
            run_dir: dir.path().join("r"),
        });
        let l = e.settings_limits();
        assert_eq!((l.cpus.min, l.cpus.max), (1, 64));
        assert_eq!((l.memory_mib.min, l.memory_mib.max), (512, 262_144));
        assert_eq!((l.disk_gib.min, l.disk_now_gib), (8, 0));
        std::fs::File::create(e.paths().data_disk())
            .unwrap()
            .set_len(20 << 30)
            .unwrap();
        let l = e.settings_limits();
        assert_eq!((l.disk_gib.min, l.disk_now_gib), (8, 20));
    }
}
