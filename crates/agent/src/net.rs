//! The guest's one network interface: loopback, eth0 with the static address from [`GuestNet`], the
//! default route, and IPv4 forwarding for Docker's bridge.

use std::path::Path;

use berth_proto::GuestNet;

use crate::reaper::run;

const IP: &str = "/usr/sbin/ip";

/// Brings `lo` up.
pub fn loopback_up() {
    if let Err(e) = run(IP, &["link", "set", "lo", "up"]) {
        log!("net: {e}");
    }
}

/// Configures eth0 and the default route; `Err` says what failed (boot continues without network).
pub fn configure(net: &GuestNet) -> Result<(), String> {
    if !Path::new("/sys/class/net/eth0").exists() {
        return Err("no eth0 (the VM has no network device)".into());
    }
    let cidr = format!("{}/{}", net.address, net.prefix);
    run(IP, &["link", "set", "eth0", "up"])?;
    run(IP, &["addr", "replace", &cidr, "dev", "eth0"])?;
    run(
        IP,
        &["route", "replace", "default", "via", &net.gateway, "dev", "eth0"],
    )?;
    log!("net: eth0 {cidr} via {}", net.gateway);
    Ok(())
}

/// Writes one sysctl, logging a failure.
pub fn sysctl(key: &str, value: &str) {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    if let Err(e) = std::fs::write(&path, value) {
        log!("net: sysctl {key}={value}: {e}");
    }
}
