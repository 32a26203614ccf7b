//! PID 1's signals. The kernel drops signals to init that have no handler, so each one we care about
//! gets a no-op handler and is then blocked in every thread and taken synchronously by `sigwait` on
//! the main thread: SIGCHLD wakes the reaper; SIGTERM, SIGINT (ctrl-alt-del) and SIGPWR shut down.

use std::time::Duration;

const HANDLED: [libc::c_int; 5] = [
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGPWR,
    libc::SIGHUP,
];

/// Deadline for a shutdown asked by signal (the host's `Shutdown` message brings its own).
const SIGNAL_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);

extern "C" fn ignore(_: libc::c_int) {}

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for sig in HANDLED {
        // SAFETY: `set` is initialised and `sig` a valid signal number.
        unsafe { libc::sigaddset(&mut set, sig) };
    }
    set
}

/// Installs the handlers and blocks the signals. Call before any thread starts, so all inherit the
/// mask (children get a clean mask from `std::process::Command`).
pub fn install() {
    for sig in HANDLED {
        // SAFETY: sigaction is plain data; zeroed then filled.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = ignore as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART
            | if sig == libc::SIGCHLD {
                libc::SA_NOCLDSTOP
            } else {
                0
            };
        // SAFETY: `sa` is a valid sigaction whose handler is async-signal-safe (it does nothing).
        unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) };
    }
    let set = handled_set();
    // SAFETY: `set` is a valid, initialised sigset_t.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    // SAFETY: reboot(RB_DISABLE_CAD) only changes how ctrl-alt-del is delivered (SIGINT to init).
    unsafe { libc::reboot(libc::RB_DISABLE_CAD) };
}

/// Takes signals forever on the calling (main) thread.
pub fn wait_forever() -> ! {
    let set = handled_set();
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is initialised; `sig` is a valid out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        match sig {
            libc::SIGCHLD => crate::reaper::kick(),
            libc::SIGTERM | libc::SIGINT | libc::SIGPWR => {
                log!("signal: {sig}: shutting down");
                crate::shutdown::begin(SIGNAL_SHUTDOWN_DEADLINE, &format!("signal {sig}"));
            }
            _ => {}
        }
    }
}
