//! Gives memory the idle guest does not need back to the host.
//!
//! A VM's memory is only returned to the host when the guest frees it and reports it (virtio-balloon
//! free page reporting, which berth-vmm serves). An idle Linux guest frees little on its own: the page
//! cache keeps what boot and the last container start read, and the program text of dockerd and
//! containerd stays cached whole though an idle daemon runs a small part of it. So once Docker is ready
//! and the guest has been idle for a while, the agent trims, once per idle period and only when there is
//! enough to gain:
//! - it drops clean, unmapped page cache and the dentry and inode caches (`drop_caches=3`: nothing dirty
//!   is lost), then asks the kernel's proactive reclaim (`memory.reclaim` of the root cgroup) for half
//!   of the file cache that is left, the mapped program text of the idle daemons: the least recently
//!   used half. Not all of it: what the daemons touch again is read back from the read-only root, and
//!   with all of it gone the first command after the idle period (a `docker stop`, a shutdown) pays for
//!   reading most of dockerd back;
//! - it reports free pages of any size while idle (`page_reporting_order=0`): the freed cache lies
//!   scattered in 4 KiB pages, and only reported pages go back. While busy, 2 MiB blocks and up are
//!   reported, as before, so a busy guest does not pay for a report per page it frees.
//!
//! It does not compact memory: compaction moves pages into free memory the host never backed, which
//! costs the host as much as the blocks it frees. Never without a reporting balloon (without one the host
//! would get nothing back and only the cache would be lost).

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

/// While busy, free blocks of this order (2 MiB) and up are reported: one whole transparent huge page on
/// a host that backs guest memory with them, so a report frees it outright and khugepaged has nothing to
/// refill. Linux 6.1 registers the balloon at its pageblock order, 4 MiB in a kernel without hugetlbfs,
/// which leaves the 2–4 MiB free blocks unreported.
const BUSY_REPORTING_ORDER: &str = "9";
/// While idle after a trim, every free page is reported (berth-vmm then takes the 2 MiB blocks around
/// the small reports off huge pages, so the 4 KiB pages really go back).
const IDLE_REPORTING_ORDER: &str = "0";
const REPORTING_ORDER_PARAM: &str = "/sys/module/page_reporting/parameters/page_reporting_order";
/// The kernel's proactive reclaim for the whole guest (Linux 5.19 and later).
const ROOT_RECLAIM: &str = "/sys/fs/cgroup/memory.reclaim";

/// Starts the reclaim thread when the guest has a balloon that takes free page reports.
pub fn start(hub: std::sync::Arc<Hub>) {
    if !has_reporting_balloon(std::path::Path::new("/sys/bus/virtio/drivers/virtio_balloon")) {
        log!("reclaim: no balloon with free page reporting; idle memory stays with the VM");
        return;
    }
    set_reporting_order(BUSY_REPORTING_ORDER);
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
        let gain = file_cache_bytes(&meminfo).unwrap_or(0);
        match policy.step(hub.phase() == Phase::Ready, busy, CHECK_EVERY, gain) {
            Some(Action::Trim) => trim(&meminfo),
            Some(Action::BusyAgain) => set_reporting_order(BUSY_REPORTING_ORDER),
            None => {}
        }
    }
}

fn set_reporting_order(order: &str) {
    if let Err(e) = std::fs::write(REPORTING_ORDER_PARAM, order) {
        log!("reclaim: cannot set the page reporting order to {order}: {e}");
    }
}

/// What the policy asks for.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// Idle long enough: trim.
    Trim,
    /// Busy again after a trim: back to reporting whole huge pages only.
    BusyAgain,
}

/// When to trim: after `IDLE_BEFORE_FIRST` (then `IDLE_BEFORE_NEXT`) of idleness with Docker ready, once
/// per idle period, and only with at least `MIN_GAIN_BYTES` of file cache to gain.
#[derive(Debug, Default)]
struct Policy {
    idle: Duration,
    trimmed_this_idle_period: bool,
    trims: u32,
}

impl Policy {
    fn step(&mut self, ready: bool, busy_percent: u64, elapsed: Duration, gain_bytes: u64) -> Option<Action> {
        if !ready || busy_percent >= IDLE_BUSY_PERCENT {
            self.idle = Duration::ZERO;
            let was_trimmed = std::mem::take(&mut self.trimmed_this_idle_period);
            return was_trimmed.then_some(Action::BusyAgain);
        }
        self.idle += elapsed;
        let wait = if self.trims == 0 {
            IDLE_BEFORE_FIRST
        } else {
            IDLE_BEFORE_NEXT
        };
        if self.trimmed_this_idle_period || self.idle < wait || gain_bytes < MIN_GAIN_BYTES {
            return None;
        }
        self.trimmed_this_idle_period = true;
        self.trims += 1;
        Some(Action::Trim)
    }
}

fn trim(meminfo_before: &str) {
    set_reporting_order(IDLE_REPORTING_ORDER);
    if let Err(e) = std::fs::write("/proc/sys/vm/drop_caches", "3") {
        log!("reclaim: cannot drop clean caches: {e}");
    }
    let left = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| file_cache_bytes(&m))
        .unwrap_or(0);
    let ask = left / 2 / 4096 * 4096;
    // The kernel stops early (EAGAIN) when what is left is in use: that is the point, not a failure.
    let reclaimed = (ask > 0).then(|| std::fs::write(ROOT_RECLAIM, ask.to_string()));
    match reclaimed {
        Some(Err(e)) if e.raw_os_error() != Some(libc::EAGAIN) => {
            log!("reclaim: proactive reclaim unavailable ({ROOT_RECLAIM}: {e})")
        }
        _ => {}
    }
    let after = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let freed = mem_free_bytes(&after)
        .zip(mem_free_bytes(meminfo_before))
        .map(|(a, b)| a.saturating_sub(b))
        .unwrap_or(0);
    log!(
        "reclaim: idle; freed {} MiB of page cache for the host (file cache {} -> {} MiB)",
        freed >> 20,
        file_cache_bytes(meminfo_before).unwrap_or(0) >> 20,
        file_cache_bytes(&after).unwrap_or(0) >> 20
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

fn meminfo_kib(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_ascii_whitespace().next()?.parse::<u64>().ok()
    })
}

/// Page cache of files (mapped or not), without shared memory (tmpfs, which reclaim cannot drop without
/// swap), in bytes.
fn file_cache_bytes(meminfo: &str) -> Option<u64> {
    let cached = meminfo_kib(meminfo, "Cached")?;
    Some(cached.saturating_sub(meminfo_kib(meminfo, "Shmem").unwrap_or(0)) * 1024)
}

fn mem_free_bytes(meminfo: &str) -> Option<u64> {
    meminfo_kib(meminfo, "MemFree").map(|k| k * 1024)
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
        assert_eq!(
            p.step(false, 0, tick, 100 * MIB),
            None,
            "not before Docker is ready"
        );
        assert_eq!(p.step(true, 0, tick, 100 * MIB), None, "10 s idle is not enough");
        assert_eq!(
            p.step(true, 1, tick, 100 * MIB),
            Some(Action::Trim),
            "20 s idle: trim"
        );
        assert_eq!(p.step(true, 0, tick, 100 * MIB), None, "once per idle period");
        assert_eq!(
            p.step(true, 40, tick, 100 * MIB),
            Some(Action::BusyAgain),
            "busy: a new period starts"
        );
        assert_eq!(p.step(true, 40, tick, 100 * MIB), None, "said once");
        for _ in 0..5 {
            assert_eq!(p.step(true, 0, tick, 100 * MIB), None, "later trims wait 60 s");
        }
        assert_eq!(p.step(true, 0, tick, 100 * MIB), Some(Action::Trim));
    }

    #[test]
    fn small_gains_are_not_worth_the_cache() {
        let mut p = Policy::default();
        for _ in 0..10 {
            assert_eq!(p.step(true, 0, Duration::from_secs(10), 8 * MIB), None);
        }
        assert_eq!(
            p.step(true, 0, Duration::from_secs(10), 64 * MIB),
            Some(Action::Trim)
        );
    }

    #[test]
    fn file_cache_counts_mapped_files_but_not_tmpfs() {
        let m = "MemTotal: 2044996 kB\nMemFree: 1000 kB\nCached: 146356 kB\nMapped: 94692 kB\nShmem: 40 kB\n";
        assert_eq!(file_cache_bytes(m), Some((146356 - 40) * 1024));
        assert_eq!(mem_free_bytes(m), Some(1000 * 1024));
        assert_eq!(file_cache_bytes("Mapped: 5 kB\n"), None);
        assert_eq!(
            file_cache_bytes("Cached: 10 kB\nShmem: 50 kB\n"),
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
