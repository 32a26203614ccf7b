//! Early boot: the kernel filesystems, tmpfs for everything that must be writable on the read-only
//! erofs root, cgroup v2 with the controllers Docker needs, and the open-file limit dockerd expects.

use std::fs;

use crate::sys::mount;

const NOSUID: libc::c_ulong = libc::MS_NOSUID;
const NODEV: libc::c_ulong = libc::MS_NODEV;
const NOEXEC: libc::c_ulong = libc::MS_NOEXEC;

/// (source, target, fstype, flags, data) in mount order.
const EARLY: &[(&str, &str, &str, libc::c_ulong, &str)] = &[
    ("proc", "/proc", "proc", NOSUID | NODEV | NOEXEC, ""),
    ("sysfs", "/sys", "sysfs", NOSUID | NODEV | NOEXEC, ""),
    ("devtmpfs", "/dev", "devtmpfs", NOSUID, "mode=0755"),
    (
        "devpts",
        "/dev/pts",
        "devpts",
        NOSUID | NOEXEC,
        "gid=5,mode=0620,ptmxmode=0666",
    ),
    ("shm", "/dev/shm", "tmpfs", NOSUID | NODEV, "mode=1777"),
    ("tmpfs", "/run", "tmpfs", NOSUID | NODEV, "mode=0755"),
    ("tmpfs", "/tmp", "tmpfs", NOSUID | NODEV, "mode=1777"),
    ("tmpfs", "/var/log", "tmpfs", NOSUID | NODEV, "mode=0755"),
    ("tmpfs", "/var/tmp", "tmpfs", NOSUID | NODEV, "mode=1777"),
    ("tmpfs", "/var/cache", "tmpfs", NOSUID | NODEV, "mode=0755"),
    (
        "cgroup2",
        "/sys/fs/cgroup",
        "cgroup2",
        NOSUID | NODEV | NOEXEC,
        "",
    ),
];

/// Mounts everything in [`EARLY`]; a failure is logged and the rest still tried. Returns the failures.
pub fn early() -> Vec<String> {
    let mut failures = Vec::new();
    for &(src, target, fstype, flags, data) in EARLY {
        let _ = fs::create_dir_all(target);
        match mount(src, target, fstype, flags, data) {
            Ok(()) => {}
            // The kernel may have mounted devtmpfs already (CONFIG_DEVTMPFS_MOUNT).
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => {
                log!("mount: {fstype} on {target} failed: {e}");
                failures.push(format!("mount {target}: {e}"));
            }
        }
        if target == "/dev" {
            crate::log::attach_console();
        }
    }
    for (link, to) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(to, link);
    }
    for dir in ["/run/berth", "/run/lock", "/var/log/berth"] {
        let _ = fs::create_dir_all(dir);
    }
    failures
}

/// Enables every available cgroup controller for child groups, one by one so one refusal does not
/// block the others. Docker (runc) creates its groups below the root and needs them delegated.
pub fn enable_cgroup_controllers() {
    let available = fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
    let mut enabled = Vec::new();
    for c in available.split_whitespace() {
        match fs::write("/sys/fs/cgroup/cgroup.subtree_control", format!("+{c}")) {
            Ok(()) => enabled.push(c),
            Err(e) => log!("cgroup: cannot enable {c}: {e}"),
        }
    }
    log!("cgroup: controllers enabled: {}", enabled.join(" "));
}

/// Raises the open-file limit (inherited by containerd and dockerd, as systemd's units would set it).
pub fn raise_nofile_limit() {
    let want = fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1_048_576);
    let lim = libc::rlimit {
        rlim_cur: want,
        rlim_max: want,
    };
    // SAFETY: `lim` is a valid rlimit that outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        log!(
            "rlimit: cannot raise nofile to {want}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// sethostname(2).
pub fn set_hostname(name: &str) {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } != 0 {
        log!(
            "hostname: cannot set {name:?}: {}",
            std::io::Error::last_os_error()
        );
    }
}
