//! Graceful shutdown: phase `Stopping`, SIGTERM dockerd (it stops the containers) and wait most of
//! the deadline, then containerd, then every process left; sync, unmount the data disk, power off.
//! A deadline thread forces sync and power-off when time runs out, whatever the steps are doing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use berth_proto::Phase;

static STARTED: AtomicBool = AtomicBool::new(false);

/// Starts shutting down (once; later calls are ignored).
pub fn begin(deadline: Duration, why: &str) {
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    log!("shutdown: {why}; deadline {} ms", deadline.as_millis());
    crate::sys::spawn("shutdown-deadline", move || {
        std::thread::sleep(deadline);
        log!("shutdown: deadline passed; forcing power-off");
        power_off();
    });
    let why = why.to_string();
    if !crate::sys::spawn("shutdown", move || run(deadline, &why)) {
        power_off();
    }
}

/// Time dockerd gets: the deadline minus a reserve for containerd, unmounting and power-off.
pub fn dockerd_budget(deadline: Duration) -> Duration {
    let reserve = (deadline / 5).clamp(Duration::from_secs(1), Duration::from_secs(5));
    deadline.saturating_sub(reserve)
}

fn run(deadline: Duration, why: &str) {
    let start = Instant::now();
    let left = |keep: Duration| deadline.saturating_sub(start.elapsed()).saturating_sub(keep);
    if let Some(agent) = crate::boot::agent() {
        agent
            .hub
            .set_phase(Phase::Stopping, format!("shutting down: {why}"));
        let services = crate::sys::lock(&agent.services).clone();
        for (i, svc) in services.iter().enumerate().rev() {
            let budget = if i + 1 == services.len() {
                dockerd_budget(deadline)
            } else {
                left(Duration::from_secs(1))
            };
            agent.hub.status(format!("stopping {}", svc.name));
            svc.stop(budget.max(Duration::from_millis(500)));
        }
    }
    log!("shutdown: stopping remaining processes");
    crate::sys::kill(-1, libc::SIGTERM);
    std::thread::sleep(left(Duration::from_secs(1)).min(Duration::from_millis(500)));
    crate::sys::kill(-1, libc::SIGKILL);
    crate::sys::sync();
    crate::disk::unmount_all();
    power_off();
}

/// sync, then end the VM. Our VMs have no ACPI (QEMU microvm with acpi=off, berth-vmm), so a power-off
/// request would only halt the CPUs; a reset does end them: the kernel runs with `reboot=t` (triple
/// fault) and the VMM with -no-reboot, which turns a reset into a clean exit. Never returns.
pub fn power_off() -> ! {
    crate::sys::sync();
    log!("shutdown: power off");
    // SAFETY: reboot(2) with a valid command; on success it does not return.
    unsafe { libc::reboot(libc::RB_AUTOBOOT) };
    log!(
        "shutdown: reset failed ({}); trying ACPI power-off",
        std::io::Error::last_os_error()
    );
    // SAFETY: as above.
    unsafe { libc::reboot(libc::RB_POWER_OFF) };
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerd_gets_most_of_the_deadline() {
        assert_eq!(dockerd_budget(Duration::from_secs(30)), Duration::from_secs(25));
        assert_eq!(dockerd_budget(Duration::from_secs(10)), Duration::from_secs(8));
        assert_eq!(dockerd_budget(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(dockerd_budget(Duration::ZERO), Duration::ZERO);
    }
}
