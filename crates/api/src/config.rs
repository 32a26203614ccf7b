//! A machine's settings, validated on both sides of the control API.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// Valid virtual CPU counts.
pub const CPUS_RANGE: RangeInclusive<u32> = 1..=64;
/// Valid memory sizes in MiB.
pub const MEMORY_MIB_RANGE: RangeInclusive<u64> = 512..=262_144;
/// Valid data disk sizes in GiB (the disk is sparse: it only takes what is written).
pub const DISK_GIB_RANGE: RangeInclusive<u64> = 8..=4096;

/// Settings of one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MachineConfig {
    /// Virtual CPUs.
    pub cpus: u32,
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// Data disk size in GiB (can grow, never shrinks).
    pub disk_gib: u64,
    /// Registries dockerd reaches over plain HTTP (`host:port`).
    pub insecure_registries: Vec<String>,
    /// Registry mirrors (URLs).
    pub registry_mirrors: Vec<String>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            cpus: 2,
            memory_mib: 2048,
            disk_gib: 64,
            insecure_registries: vec![],
            registry_mirrors: vec![],
        }
    }
}

/// A setting out of range, with the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// CPUs out of range.
    #[error("cpus must be between {lo} and {hi} (got {0})", lo = CPUS_RANGE.start(), hi = CPUS_RANGE.end())]
    Cpus(u32),
    /// Memory out of range.
    #[error("memory must be between {lo} and {hi} MiB (got {0} MiB)", lo = MEMORY_MIB_RANGE.start(), hi = MEMORY_MIB_RANGE.end())]
    Memory(u64),
    /// Disk out of range.
    #[error("disk size must be between {lo} and {hi} GiB (got {0} GiB)", lo = DISK_GIB_RANGE.start(), hi = DISK_GIB_RANGE.end())]
    Disk(u64),
    /// The data disk cannot shrink.
    #[error("the data disk is {current} GiB and cannot shrink to {wanted} GiB (delete the machine to start smaller)")]
    DiskShrink {
        /// Current size.
        current: u64,
        /// Requested size.
        wanted: u64,
    },
    /// A registry entry that is not `host[:port]`.
    #[error("insecure registry {0:?} must be host[:port] without a scheme, e.g. host.docker.internal:5000")]
    Registry(String),
    /// A mirror that is not an http(s) URL.
    #[error("registry mirror {0:?} must be an http:// or https:// URL")]
    Mirror(String),
    /// More memory than the host has.
    #[error("memory {wanted} MiB is more than this computer has ({host} MiB)")]
    MemoryOverHost {
        /// Requested.
        wanted: u64,
        /// Host total.
        host: u64,
    },
}

impl MachineConfig {
    /// Checks every setting; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !CPUS_RANGE.contains(&self.cpus) {
            return Err(ConfigError::Cpus(self.cpus));
        }
        if !MEMORY_MIB_RANGE.contains(&self.memory_mib) {
            return Err(ConfigError::Memory(self.memory_mib));
        }
        if !DISK_GIB_RANGE.contains(&self.disk_gib) {
            return Err(ConfigError::Disk(self.disk_gib));
        }
        for r in &self.insecure_registries {
            let ok = !r.is_empty()
                && !r.contains("://")
                && !r.contains('/')
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
            if !ok {
                return Err(ConfigError::Registry(r.clone()));
            }
        }
        for m in &self.registry_mirrors {
            if !(m.starts_with("http://") || m.starts_with("https://")) || m.contains(char::is_whitespace) {
                return Err(ConfigError::Mirror(m.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        MachineConfig::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_values_name_the_valid_range() {
        let c = MachineConfig {
            cpus: 0,
            ..Default::default()
        };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "cpus must be between 1 and 64 (got 0)"
        );
        let c = MachineConfig {
            memory_mib: 100,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("between 512 and 262144 MiB"));
        let c = MachineConfig {
            disk_gib: 1,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("between 8 and 4096 GiB"));
    }

    #[test]
    fn registries_must_be_host_port() {
        let ok = MachineConfig {
            insecure_registries: vec!["host.docker.internal:5000".into()],
            ..Default::default()
        };
        ok.validate().unwrap();
        let bad = MachineConfig {
            insecure_registries: vec!["http://x:5000".into()],
            ..Default::default()
        };
        assert!(matches!(bad.validate(), Err(ConfigError::Registry(_))));
        let bad = MachineConfig {
            registry_mirrors: vec!["mirror.local".into()],
            ..Default::default()
        };
        assert!(matches!(bad.validate(), Err(ConfigError::Mirror(_))));
    }

    #[test]
    fn missing_fields_take_defaults() {
        let c: MachineConfig = serde_json::from_str(r#"{"cpus":4}"#).unwrap();
        assert_eq!(c.cpus, 4);
        assert_eq!(c.memory_mib, 2048);
    }
}
