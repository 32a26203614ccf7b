//! Terse console logging. PID 1's stderr is the kernel console, which the host saves to console.log;
//! every line reads `[  12.345] berth-agent: <area>: <what>`. Never panics (unlike `eprintln!`).

use std::io::Write;

/// Writes one log line to stderr; errors are dropped (there is nowhere else to report them).
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "[{:>9.3}] berth-agent: {}", uptime_secs(), args);
}

/// Seconds since boot (CLOCK_BOOTTIME), so lines line up with the kernel's own timestamps.
fn uptime_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Points fds 0, 1 and 2 at /dev/console unless stderr is already open. The kernel opens the console
/// for init only when /dev/console exists on the root filesystem (or devtmpfs was automounted), which
/// a minimal erofs root may not provide.
pub fn attach_console() {
    // SAFETY: F_GETFD on any fd number has no memory effects.
    if unsafe { libc::fcntl(2, libc::F_GETFD) } >= 0 {
        return;
    }
    let path = c"/dev/console";
    // SAFETY: `path` is a NUL-terminated string; open has no other memory effects.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return;
    }
    for target in 0..3 {
        // SAFETY: `fd` is an open descriptor we own; dup2 onto 0..2 replaces the standard streams.
        unsafe { libc::dup2(fd, target) };
    }
    if fd > 2 {
        // SAFETY: `fd` is ours and no longer needed; 0..2 hold their own duplicates.
        unsafe { libc::close(fd) };
    }
}

/// `log!("net: eth0 up")`: one console line.
macro_rules! log {
    ($($arg:tt)*) => { $crate::log::write(format_args!($($arg)*)) };
}
