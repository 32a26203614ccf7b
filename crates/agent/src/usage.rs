//! The guest's resource use for the host's `Usage` request: cumulative CPU ticks from `/proc/stat`,
//! memory from `/proc/meminfo` and the data disk from `statvfs` of Docker's data folder. The parsers are
//! pure functions over the files' text, so they are tested on sample text.

use std::io;

use berth_proto::{CpuTimes, DiskUsage, GuestUsage, MemoryUsage};

use crate::sys::{check, cstr};

/// The folder whose filesystem is the data disk (bind-mounted from it at boot, see `disk`).
pub const DOCKER_DATA: &str = "/var/lib/docker";

/// A snapshot now. A file that cannot be read leaves its part zero (the host shows "unknown").
pub fn snapshot() -> GuestUsage {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map_err(|e| log!("usage: cannot read {path}: {e}"))
            .unwrap_or_default()
    };
    GuestUsage {
        cpu: parse_stat(&read("/proc/stat")).unwrap_or_default(),
        memory: parse_meminfo(&read("/proc/meminfo")).unwrap_or_default(),
        disk: disk(DOCKER_DATA)
            .map_err(|e| log!("usage: statvfs {DOCKER_DATA}: {e}"))
            .ok(),
    }
}

/// The aggregate `cpu` line and the number of `cpuN` lines of `/proc/stat`.
pub fn parse_stat(text: &str) -> Option<CpuTimes> {
    let mut times = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        match fields.next() {
            Some("cpu") => {
                // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
                // counted in user and nice, so only the first eight fields are summed.
                let v: Vec<u64> = fields.take(8).map_while(|f| f.parse().ok()).collect();
                if v.len() < 4 {
                    return None;
                }
                let total: u64 = v.iter().sum();
                let idle = v[3] + v.get(4).copied().unwrap_or(0);
                times = Some((total.saturating_sub(idle), total));
            }
            Some(name) if name.starts_with("cpu") && name[3..].bytes().all(|b| b.is_ascii_digit()) => {
                cpus += 1;
            }
            _ => {}
        }
    }
    let (busy_jiffies, total_jiffies) = times?;
    Some(CpuTimes {
        busy_jiffies,
        total_jiffies,
        cpus,
    })
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes.
pub fn parse_meminfo(text: &str) -> Option<MemoryUsage> {
    let kib = |key: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            let mut f = rest.split_ascii_whitespace();
            let n: u64 = f.next()?.parse().ok()?;
            match f.next() {
                Some("kB") | None => Some(n.saturating_mul(1024)),
                Some(_) => None,
            }
        })
    };
    let total_bytes = kib("MemTotal")?;
    let available_bytes = kib("MemAvailable")?.min(total_bytes);
    Some(MemoryUsage {
        total_bytes,
        available_bytes,
    })
}

/// Size, use and free space of the filesystem holding `path`.
pub fn disk(path: &str) -> io::Result<DiskUsage> {
    let c = cstr(path)?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value for the call to fill in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs, both outliving the call.
    check(unsafe { libc::statvfs(c.as_ptr(), &mut st) })?;
    Ok(disk_from(
        path,
        st.f_frsize as u64,
        st.f_blocks as u64,
        st.f_bfree as u64,
        st.f_bavail as u64,
    ))
}

/// `df`'s arithmetic: used = blocks − free blocks; free = blocks available to programs.
fn disk_from(path: &str, frsize: u64, blocks: u64, bfree: u64, bavail: u64) -> DiskUsage {
    DiskUsage {
        path: path.to_string(),
        size_bytes: blocks.saturating_mul(frsize),
        used_bytes: blocks.saturating_sub(bfree).saturating_mul(frsize),
        free_bytes: bavail.saturating_mul(frsize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699176 23060 0 277 11 7 3\n\
                        cpu0 1393280 32966 572056 13343292 6130 0 17875 0 0 0\n\
                        cpu1 1335 170 290 1849700 11500 0 140 5 0 0\n\
                        intr 1462898 26 0 0\n\
                        ctxt 115315\n\
                        btime 769041601\n\
                        processes 86031\n\
                        procs_running 6\n\
                        cpufreq 1\n";

    #[test]
    fn stat_sums_the_first_eight_fields_and_counts_cpus() {
        let t = parse_stat(STAT).unwrap();
        let total = 4705 + 356 + 584 + 3699176 + 23060 + 277 + 11;
        assert_eq!(
            t.total_jiffies, total,
            "guest and guest_nice are already in user and nice"
        );
        assert_eq!(
            t.busy_jiffies,
            total - 3699176 - 23060,
            "idle and iowait are not busy"
        );
        assert_eq!(t.cpus, 2, "cpu0, cpu1; not `cpufreq`");
    }

    #[test]
    fn old_kernels_with_four_fields_and_garbage() {
        let t = parse_stat("cpu 10 0 5 85\ncpu0 10 0 5 85\n").unwrap();
        assert_eq!((t.busy_jiffies, t.total_jiffies, t.cpus), (15, 100, 1));
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("cpu 1 2 x\n"), None);
        assert_eq!(parse_stat("intr 1 2 3\n"), None);
    }

    #[test]
    fn meminfo_total_and_available_in_bytes() {
        let text = "MemTotal:        2014580 kB\nMemFree:          105188 kB\n\
                    MemAvailable:    1601364 kB\nBuffers:           40312 kB\n";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.total_bytes, 2014580 * 1024);
        assert_eq!(m.available_bytes, 1601364 * 1024);
        assert_eq!(parse_meminfo("MemTotal: 100 kB\n"), None, "no MemAvailable");
        assert_eq!(parse_meminfo("MemTotalX: 1 kB\nMemAvailable: 1 kB\n"), None);
        let clamped = parse_meminfo("MemTotal: 100 kB\nMemAvailable: 200 kB\n").unwrap();
        assert_eq!(clamped.available_bytes, clamped.total_bytes);
    }

    #[test]
    fn disk_arithmetic_is_dfs() {
        let d = disk_from("/var/lib/docker", 4096, 1000, 300, 250);
        assert_eq!(
            (d.size_bytes, d.used_bytes, d.free_bytes),
            (4_096_000, 2_867_200, 1_024_000)
        );
    }

    #[test]
    fn this_hosts_own_files_parse() {
        // The guest kernel writes the same formats as the kernel running these tests.
        let t = parse_stat(&std::fs::read_to_string("/proc/stat").unwrap()).unwrap();
        assert!(t.cpus >= 1 && t.total_jiffies >= t.busy_jiffies && t.total_jiffies > 0);
        let m = parse_meminfo(&std::fs::read_to_string("/proc/meminfo").unwrap()).unwrap();
        assert!(m.total_bytes > 0 && m.available_bytes <= m.total_bytes);
        let d = disk("/").unwrap();
        assert!(d.size_bytes > 0 && d.used_bytes <= d.size_bytes);
        assert!(disk("/no/such/folder").is_err());
    }
}
