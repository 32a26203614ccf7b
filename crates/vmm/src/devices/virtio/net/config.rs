//! What the user configures (`--net-passt`, `--net-mac`) and the device's configuration space
//! (`struct virtio_net_config`, virtio 1.2 section 5.1.4).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The MAC address the guest gets unless told otherwise: locally administered, QEMU's usual prefix.
pub const DEFAULT_MAC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

/// `VIRTIO_NET_S_LINK_UP` in the configuration space's status field.
pub const S_LINK_UP: u16 = 1;

/// Length of the configuration space we expose: mac, status, max_virtqueue_pairs.
pub const CONFIG_LEN: usize = 10;

/// An Ethernet MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacAddr(pub [u8; 6]);

impl FromStr for MacAddr {
    type Err = String;

    /// Six hex octets separated by colons, e.g. `52:54:00:12:34:56`; multicast addresses are refused.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a MAC address; write six hex octets like 52:54:00:12:34:56");
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for o in &mut out {
            let p = parts.next().filter(|p| p.len() == 2).ok_or_else(bad)?;
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        if out[0] & 1 != 0 {
            return Err(format!(
                "{s} is a multicast address and cannot name a network card; clear the lowest bit of the first \
                 octet (e.g. 52:54:00:12:34:56)"
            ));
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// The network device's host side: a passt stream socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// The Unix socket passt listens on (`passt -s <path>`).
    pub passt_socket: PathBuf,
    /// The guest's MAC address.
    pub mac: MacAddr,
}

/// The configuration space bytes for `mac` with the link up or down.
pub fn config_space(mac: MacAddr, link_up: bool) -> [u8; CONFIG_LEN] {
    let mut c = [0u8; CONFIG_LEN];
    c[0..6].copy_from_slice(&mac.0);
    let status = if link_up { S_LINK_UP } else { 0 };
    c[6..8].copy_from_slice(&status.to_le_bytes());
    // max_virtqueue_pairs: one pair (only read by drivers that negotiated VIRTIO_NET_F_MQ).
    c[8..10].copy_from_slice(&1u16.to_le_bytes());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_addresses_parse_and_print() {
        let m: MacAddr = "52:54:00:AB:cd:0f".parse().unwrap();
        assert_eq!(m.0, [0x52, 0x54, 0, 0xab, 0xcd, 0x0f]);
        assert_eq!(m.to_string(), "52:54:00:ab:cd:0f");
        assert_eq!(DEFAULT_MAC.to_string().parse::<MacAddr>().unwrap(), DEFAULT_MAC);
        for bad in [
            "",
            "52:54:00:12:34",
            "52:54:00:12:34:56:78",
            "52-54-00-12-34-56",
            "5:54:00:12:34:567",
            "zz:54:00:12:34:56",
        ] {
            let e = bad.parse::<MacAddr>().unwrap_err();
            assert!(e.contains("not a MAC address"), "{bad}: {e}");
        }
        assert!("01:00:5e:00:00:01"
            .parse::<MacAddr>()
            .unwrap_err()
            .contains("multicast"));
    }

    #[test]
    fn config_space_holds_mac_and_link_status() {
        let c = config_space(DEFAULT_MAC, true);
        assert_eq!(&c[0..6], &DEFAULT_MAC.0);
        assert_eq!(u16::from_le_bytes([c[6], c[7]]), S_LINK_UP);
        assert_eq!(u16::from_le_bytes([c[6], c[7]]) & S_LINK_UP, S_LINK_UP);
        assert_eq!(config_space(DEFAULT_MAC, false)[6], 0);
    }
}
