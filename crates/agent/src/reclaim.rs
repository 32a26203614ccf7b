//! Gives memory the idle guest does not need back to the host.
//!
//! A VM's memory is only returned to the host when the guest frees it and reports it (virtio-balloon
//! free page reporting, which berth-vmm serves). An idle Linux guest frees little on its own: the page
//! cache keeps what boot and the last container start read. So once Docker is ready and the guest has
//! been idle for a while, the agent drops clean, unmapped page cache (`drop_caches=1`: nothing dirty, no
//! mapped program text) and compacts memory so the free pages form blocks the reporting picks up. It
//! does this once per idle period, only when there is enough to gain, and never without a reporting
//! balloon (without one the host would get nothing back and only the cache would be lost).

use std::time::Duration;

use berth_proto::Phase;

use crate::control::Hub;

/// How often the agent looks.
const CHECK_EVERY: Duration = Duration::from_secs(10);
/// Quiet time before the first trim after Docker became ready, and before each later one.
const IDLE_BEFORE_FIRST: Duration = Duration::from_secs(20);
const IDLE_BEFORE_NEXT: Duration = Duration::from_secs(60);
/// Below this share of CPU time busy, the guest counts as idle.
const IDLE_BUSY_PERCENT: u64 = 5;
/// Trim only when at least this much clean, unmapped page cache would go.
const MIN_GAIN_BYTES: u64 = 16 << 20;
/// `VIRTIO_BALLOON_F_REPORTING`: the device takes free page reports.
const BALLOON_F_REPORTING: usize = 5;

/// Free blocks of this order (2 MiB) and up are reported: one whole transparent huge page on a host that
/// backs guest memory with them, so a report frees it outright and khugepaged has nothing to refill.
/// Linux 6.1 registers the balloon at its pageblock order, 4 MiB in a kernel without hugetlbfs, which
/// leaves the 2–4 MiB free blocks unreported.
const REPORTING_ORDER: &str = "9";
const REPORTING_ORDER_PARAM: &str = "/sys/module/page_reporting/parameters/page_reporting_order";

/// Starts the reclaim thread when the guest has a balloon that takes free page reports.
pub fn start(hub: std::sync::Arc<Hub>) {
    if !has_reporting_balloon(std::path::Path::new("/sys/bus/virtio/drivers/virtio_balloon")) {
        log!("reclaim: no balloon with free page reporting; idle memory stays with the VM");
        return;
    }
    if let Err(e) = std::fs::write(REPORTING_ORDER_PARAM, REPORTING_ORDER) {
        log!("reclaim: cannot set the page reporting order: {e}");
    }
    crate::sys::spawn("reclaim", move || run(&hub));
}

fn run(hub: &Hub) {
    let mut policy = Policy::default();
    let mut last = read_cpu();
    loop {
        std::thread::sleep(CHECK_EVERY);
        let now = read_cpu();
        let busy = match (last, now) {
            (Some(a), Some(b)) => busy_percent(a, b),
            _ => 100,
        };
        last = now;
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let gain = droppable_cache_bytes(&meminfo).unwrap_or(0);
        if policy.step(hub.phase() == Phase::Ready, busy, CHECK_EVERY, gain) {
            trim(gain);
        }
    }
}

/// When to trim: after `IDLE_BEFORE_FIRST` (then `IDLE_BEFORE_NEXT`) of idleness with Docker ready, once
/// per idle period, and only with at least `MIN_GAIN_BYTES` to gain.
#[derive(Debug, Default)]
struct Policy {
    idle: Duration,
    trimmed_this_idle_period: bool,
    trims: u32,
}

impl Policy {
    fn step(&mut self, ready: bool, busy_percent: u64, elapsed: Duration, gain_bytes: u64) -> bool {
        if !ready || busy_percent >= IDLE_BUSY_PERCENT {
            self.idle = Duration::ZERO;
            self.trimmed_this_idle_period = false;
            return false;
        }
        self.idle += elapsed;
        let wait = if self.trims == 0 {
            IDLE_BEFORE_FIRST
        } else {
            IDLE_BEFORE_NEXT
        };
        if self.trimmed_this_idle_period || self.idle < wait || gain_bytes < MIN_GAIN_BYTES {
            return false;
        }
        self.trimmed_this_idle_period = true;
        self.trims += 1;
        true
    }
}

fn trim(gain: u64) {
    let write = |path: &str| {
        if let Err(e) = std::fs::write(path, "1") {
            log!("reclaim: cannot write {path}: {e}");
        }
    };
    write("/proc/sys/vm/drop_caches");
    write("/proc/sys/vm/compact_memory");
    log!(
        "reclaim: idle; dropped about {} MiB of clean page cache for the host",
        gain >> 20
    );
}

/// (busy, total) jiffies of the aggregate `cpu` line of `/proc/stat`.
fn read_cpu() -> Option<(u64, u64)> {
    let stat = crate::usage::parse_stat(&std::fs::read_to_string("/proc/stat").ok()?)?;
    Some((stat.busy_jiffies, stat.total_jiffies))
}

fn busy_percent(before: (u64, u64), after: (u64, u64)) -> u64 {
    let total = after.1.saturating_sub(before.1);
    if total == 0 {
        return 0;
    }
    after.0.saturating_sub(before.0) * 100 / total
}

/// Page cache that `drop_caches=1` can free: cached file pages that no process maps and that are not
/// shared memory (tmpfs), in bytes.
fn droppable_cache_bytes(meminfo: &str) -> Option<u64> {
    let kib = |key: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_ascii_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let cached = kib("Cached")?;
    let unmapped = cached.saturating_sub(kib("Mapped").unwrap_or(0) + kib("Shmem").unwrap_or(0));
    Some(unmapped * 1024)
}

/// Whether a device bound to the virtio_balloon driver (the folder given) negotiated free page reporting.
fn has_reporting_balloon(driver_dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(driver_dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("features"))
            .map(|f| f.as_bytes().get(BALLOON_F_REPORTING) == Some(&b'1'))
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn trims_once_per_idle_period_after_docker_is_ready() {
        let mut p = Policy::default();
        let tick = Duration::from_secs(10);
        assert!(!p.step(false, 0, tick, 100 * MIB), "not before Docker is ready");
        assert!(!p.step(true, 0, tick, 100 * MIB), "10 s idle is not enough");
        assert!(p.step(true, 1, tick, 100 * MIB), "20 s idle: trim");
        assert!(!p.step(true, 0, tick, 100 * MIB), "once per idle period");
        assert!(!p.step(true, 40, tick, 100 * MIB), "busy: a new period starts");
        for _ in 0..5 {
            assert!(!p.step(true, 0, tick, 100 * MIB), "later trims wait 60 s");
        }
        assert!(p.step(true, 0, tick, 100 * MIB));
    }

    #[test]
    fn small_gains_are_not_worth_the_cache() {
        let mut p = Policy::default();
        for _ in 0..10 {
            assert!(!p.step(true, 0, Duration::from_secs(10), 8 * MIB));
        }
        assert!(p.step(true, 0, Duration::from_secs(10), 64 * MIB));
    }

    #[test]
    fn droppable_cache_leaves_out_mapped_files_and_tmpfs() {
        let m = "MemTotal: 2044996 kB\nCached: 146356 kB\nMapped: 94692 kB\nShmem: 40 kB\n";
        assert_eq!(droppable_cache_bytes(m), Some((146356 - 94692 - 40) * 1024));
        assert_eq!(droppable_cache_bytes("Mapped: 5 kB\n"), None);
        assert_eq!(
            droppable_cache_bytes("Cached: 10 kB\nMapped: 50 kB\n"),
            Some(0),
            "never negative"
        );
    }

    #[test]
    fn busy_share_between_two_samples() {
        assert_eq!(busy_percent((100, 1000), (110, 1100)), 10);
        assert_eq!(busy_percent((100, 1000), (100, 1000)), 0);
        assert_eq!(
            busy_percent((100, 1000), (90, 900)),
            0,
            "counters never go back; no panic"
        );
    }

    #[test]
    fn only_a_balloon_with_the_reporting_feature_counts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_reporting_balloon(&dir.path().join("absent")));
        let dev = dir.path().join("virtio3");
        std::fs::create_dir(&dev).unwrap();
        std::fs::write(dev.join("features"), "0000100000000000000000000000000\n").unwrap();
        assert!(!has_reporting_balloon(dir.path()), "stats only");
        std::fs::write(dev.join("features"), "0000110000000000000000000000000\n").unwrap();
        assert!(has_reporting_balloon(dir.path()));
    }
}
