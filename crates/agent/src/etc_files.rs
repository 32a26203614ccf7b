//! The files the read-only rootfs links into /run/berth: resolv.conf, hosts, hostname and Docker's
//! daemon.json. Generation is pure (tested); [`write_all`] puts them in place.

use std::path::Path;

use berth_proto::GuestConfig;
use serde::Serialize;

/// Names that resolve to the gateway, which reaches the host's loopback.
pub const HOST_NAMES: &[&str] = &[
    "host.docker.internal",
    "host.berth.internal",
    "gateway.docker.internal",
];

/// Where dockerd serves its API in the guest (`/var/run` links to `/run` on Debian).
pub const DOCKER_SOCKET: &str = "/run/docker.sock";

/// `nameserver` is the guest's own address, where the DNS shim listens: it answers the host names and
/// relays the rest. Docker copies this file into containers on the default bridge, which reach the
/// guest address through docker0 — so the host names work there too.
pub fn resolv_conf(cfg: &GuestConfig) -> String {
    format!(
        "# written by berth-agent\nnameserver {}\noptions timeout:2 attempts:3\n",
        cfg.net.address
    )
}

/// /etc/hosts.
pub fn hosts(cfg: &GuestConfig) -> String {
    format!(
        "# written by berth-agent\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{}\n{}\t{}\n",
        cfg.net.address,
        cfg.hostname,
        cfg.net.gateway,
        HOST_NAMES.join(" ")
    )
}

/// /etc/hostname.
pub fn hostname(cfg: &GuestConfig) -> String {
    format!("{}\n", cfg.hostname)
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct DaemonJson<'a> {
    /// The API socket lives here and only here: dockerd refuses a `-H` flag alongside this key.
    hosts: [String; 1],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    insecure_registries: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    registry_mirrors: &'a [String],
}

/// Docker's daemon.json. `hosts` is set here, so dockerd is started without `-H`.
pub fn daemon_json(cfg: &GuestConfig) -> String {
    let doc = DaemonJson {
        hosts: [format!("unix://{DOCKER_SOCKET}")],
        insecure_registries: &cfg.insecure_registries,
        registry_mirrors: &cfg.registry_mirrors,
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// Writes all four files into `dir` (/run/berth at boot).
pub fn write_all(dir: &Path, cfg: &GuestConfig) -> Result<(), String> {
    let files = [
        ("resolv.conf", resolv_conf(cfg)),
        ("hosts", hosts(cfg)),
        ("hostname", hostname(cfg)),
        ("daemon.json", daemon_json(cfg)),
    ];
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use berth_proto::GuestNet;

    use super::*;

    fn cfg() -> GuestConfig {
        GuestConfig {
            hostname: "berth".into(),
            net: GuestNet::default(),
            data_device: "/dev/vdb".into(),
            insecure_registries: vec!["10.0.2.2:5000".into()],
            registry_mirrors: vec![],
            host_time_ms: 0,
        }
    }

    #[test]
    fn resolv_conf_points_at_the_shim_on_the_guest_address() {
        assert!(resolv_conf(&cfg()).contains("\nnameserver 10.0.2.15\n"));
    }

    #[test]
    fn hosts_maps_host_names_to_the_gateway() {
        let h = hosts(&cfg());
        assert!(h.contains("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.2.15\tberth\n"));
        assert!(h.contains("10.0.2.2\thost.docker.internal host.berth.internal gateway.docker.internal\n"));
    }

    #[test]
    fn daemon_json_has_the_socket_and_registries_only_when_set() {
        let v: serde_json::Value = serde_json::from_str(&daemon_json(&cfg())).unwrap();
        assert_eq!(v["hosts"], serde_json::json!(["unix:///run/docker.sock"]));
        assert_eq!(v["insecure-registries"], serde_json::json!(["10.0.2.2:5000"]));
        assert!(v.get("registry-mirrors").is_none());
        let mut c = cfg();
        c.registry_mirrors = vec!["https://mirror.example".into()];
        let v: serde_json::Value = serde_json::from_str(&daemon_json(&c)).unwrap();
        assert_eq!(
            v["registry-mirrors"],
            serde_json::json!(["https://mirror.example"])
        );
    }

    #[test]
    fn write_all_fills_a_directory() {
        let dir = std::env::temp_dir().join(format!("berth-agent-etc-{}", std::process::id()));
        write_all(&dir, &cfg()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("hostname")).unwrap(), "berth\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
