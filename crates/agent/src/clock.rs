//! The guest's wall clock: set from the host's time at boot (`host_time_ms`) and by `SetClock`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Slack before the boot-time host clock counts as "clearly newer" than the guest's.
const BOOT_SLACK_MS: u64 = 60_000;

/// Now, in ms since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whether the guest clock `guest_ms` is clearly older than the host's `host_ms`.
pub fn is_clearly_behind(guest_ms: u64, host_ms: u64) -> bool {
    host_ms > guest_ms.saturating_add(BOOT_SLACK_MS)
}

/// At boot: adopt the host's time only when the guest's clock is clearly behind it.
pub fn set_at_boot(host_ms: u64) {
    let guest = now_ms();
    if is_clearly_behind(guest, host_ms) {
        set(host_ms);
    } else {
        log!("clock: guest clock kept ({guest} ms, host said {host_ms} ms)");
    }
}

/// clock_settime(CLOCK_REALTIME).
pub fn set(unix_ms: u64) {
    let ts = libc::timespec {
        tv_sec: (unix_ms / 1000) as _,
        tv_nsec: ((unix_ms % 1000) * 1_000_000) as _,
    };
    // SAFETY: `ts` is a valid timespec that outlives the call.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } == 0 {
        log!("clock: set to {unix_ms} ms since epoch");
    } else {
        log!("clock: cannot set: {}", std::io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_clearly_older_clock_is_replaced() {
        assert!(is_clearly_behind(0, 1_700_000_000_000));
        assert!(!is_clearly_behind(1_700_000_000_000, 1_700_000_030_000));
        assert!(!is_clearly_behind(1_700_000_100_000, 1_700_000_000_000));
        assert!(!is_clearly_behind(u64::MAX, 0));
    }
}
