//! The guest's configuration, passed on the kernel command line as `berth.config=<base64 JSON>` so that
//! the agent has it before any device or channel is up.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The kernel command-line key that carries the encoded [`GuestConfig`].
pub const CMDLINE_KEY: &str = "berth.config";

/// Everything the agent needs to bring the guest up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestConfig {
    /// Hostname of the guest.
    pub hostname: String,
    /// Network settings (passt on the host side).
    pub net: GuestNet,
    /// Block device of the writable data disk (ext4; formatted by the agent when blank).
    pub data_device: String,
    /// Registries dockerd may reach over plain HTTP (`host:port`).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// Registry mirrors for dockerd (URLs).
    #[serde(default)]
    pub registry_mirrors: Vec<String>,
    /// Host wall-clock time when the machine was started (ms since the Unix epoch); the guest has
    /// no trustworthy clock before the host sends `SetClock`.
    pub host_time_ms: u64,
}

/// Static IPv4 settings of the guest's single network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestNet {
    /// Guest address, e.g. `10.0.2.15`.
    pub address: String,
    /// Prefix length, e.g. 24.
    pub prefix: u8,
    /// Gateway; it also reaches the host's loopback (`host.docker.internal`).
    pub gateway: String,
    /// Upstream DNS server the guest forwards to (passt's DNS forward address).
    pub dns: String,
}

impl Default for GuestNet {
    fn default() -> Self {
        GuestNet {
            address: "10.0.2.15".into(),
            prefix: 24,
            gateway: "10.0.2.2".into(),
            dns: "10.0.2.3".into(),
        }
    }
}

impl GuestConfig {
    /// Encodes the config as one `berth.config=...` kernel command-line word.
    pub fn to_cmdline_arg(&self) -> String {
        let json = serde_json::to_vec(self).expect("GuestConfig always serialises");
        format!("{CMDLINE_KEY}={}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Finds and decodes `berth.config=` in a whole kernel command line (`/proc/cmdline`).
    pub fn from_cmdline(cmdline: &str) -> Result<GuestConfig, String> {
        let prefix = format!("{CMDLINE_KEY}=");
        let word = cmdline
            .split_ascii_whitespace()
            .find_map(|w| w.strip_prefix(prefix.as_str()))
            .ok_or_else(|| format!("no {CMDLINE_KEY}= on the kernel command line"))?;
        let json = URL_SAFE_NO_PAD
            .decode(word)
            .map_err(|e| format!("{CMDLINE_KEY} is not base64: {e}"))?;
        serde_json::from_slice(&json).map_err(|e| format!("{CMDLINE_KEY} is not a valid config: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GuestConfig {
        GuestConfig {
            hostname: "berth".into(),
            net: GuestNet::default(),
            data_device: "/dev/vdb".into(),
            insecure_registries: vec!["host.docker.internal:5000".into()],
            registry_mirrors: vec![],
            host_time_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trips_through_a_kernel_command_line() {
        let cfg = sample();
        let cmdline = format!("console=ttyS0 quiet {} panic=-1\n", cfg.to_cmdline_arg());
        assert_eq!(GuestConfig::from_cmdline(&cmdline).unwrap(), cfg);
    }

    #[test]
    fn missing_or_garbled_config_is_explained() {
        assert!(GuestConfig::from_cmdline("console=ttyS0")
            .unwrap_err()
            .contains("no berth.config"));
        assert!(GuestConfig::from_cmdline("berth.config=%%%")
            .unwrap_err()
            .contains("not base64"));
        let not_json = format!("berth.config={}", URL_SAFE_NO_PAD.encode(b"{\"x\":1}"));
        assert!(GuestConfig::from_cmdline(&not_json)
            .unwrap_err()
            .contains("not a valid config"));
    }

    #[test]
    fn fits_the_x86_command_line_limit_with_room_to_spare() {
        let mut cfg = sample();
        cfg.insecure_registries = (0..8)
            .map(|i| format!("registry-{i}.example.internal:5000"))
            .collect();
        assert!(cfg.to_cmdline_arg().len() < 1200);
    }
}
