//! Pausing, resuming and stopping vCPU threads from another thread (the control API).
//!
//! A vCPU thread registers itself, then calls [`VcpuControl::checkpoint`] before each entry into the
//! guest: one atomic load while running; parked on a condition variable while paused; `false` once a stop
//! is requested. To get a vCPU out of the guest, [`VcpuControl::pause`] and [`VcpuControl::stop`] send its
//! thread a real-time signal whose handler does nothing: `KVM_RUN` returns `EINTR` and the thread reaches
//! its checkpoint. A signal that lands just before the thread enters the guest is lost, so the signal is
//! repeated every few milliseconds until every registered thread is parked (or gone). Threads deregister
//! under the same lock the signals are sent under, so a signalled thread always exists.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const RUN: u8 = 0;
const PAUSE: u8 = 1;
const STOP: u8 = 2;
/// How often a vCPU that has not parked yet is signalled again.
const KICK_INTERVAL: Duration = Duration::from_millis(5);

/// What the vCPUs are doing, as the control API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Running guest code.
    Running,
    /// Parked until resumed.
    Paused,
    /// Stopping for good.
    Stopping,
}

/// Errors controlling vCPUs.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The kick signal handler could not be installed.
    #[error("cannot install the vCPU kick signal handler: {0}")]
    Signal(#[source] std::io::Error),
    /// Some vCPU did not stop in time; the VM keeps running.
    #[error("{0} vCPU(s) did not pause within {1:?}; the VM keeps running")]
    Timeout(usize, Duration),
    /// The VM is stopping.
    #[error("the VM is stopping")]
    Stopping,
}

struct Registered {
    token: u64,
    thread: ThreadHandle,
    parked: bool,
}

/// A `pthread_t` that may cross threads. glibc makes it an integer, musl a pointer (which is not
/// `Send`); it is only ever an opaque id passed back to `pthread_kill`.
#[derive(Clone, Copy)]
struct ThreadHandle(libc::pthread_t);

// SAFETY: the handle is an opaque thread id, never dereferenced by us; pthread_kill accepts it from
// any thread of the process.
unsafe impl Send for ThreadHandle {}

#[derive(Default)]
struct Inner {
    next_token: u64,
    threads: Vec<Registered>,
}

/// Pause, resume and stop for a set of vCPU threads.
pub struct VcpuControl {
    requested: AtomicU8,
    inner: Mutex<Inner>,
    changed: Condvar,
    signal: libc::c_int,
}

/// A vCPU thread's registration; dropping it (on that thread) deregisters it.
pub struct Registration<'a> {
    control: &'a VcpuControl,
    token: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut inner = self.control.lock();
        inner.threads.retain(|t| t.token != self.token);
        self.control.changed.notify_all();
    }
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Installs the do-nothing handler for the kick signal once per process; returns the signal.
fn kick_signal() -> Result<libc::c_int, ControlError> {
    static INSTALLED: OnceLock<Result<libc::c_int, i32>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        let signal = libc::SIGRTMIN();
        // SAFETY: a zeroed sigaction is a valid value for this plain C struct; we set the fields we use.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_kick as *const () as usize;
        // SA_RESTART: other system calls a vCPU thread makes (console writes) are not cut short; KVM_RUN
        // returns EINTR regardless.
        act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        // SAFETY: `act.sa_mask` is a valid sigset_t owned by `act`.
        unsafe { libc::sigemptyset(&mut act.sa_mask) };
        // SAFETY: `act` is fully initialised and `on_kick` is async-signal-safe (it does nothing);
        // passing a null old action is allowed.
        if unsafe { libc::sigaction(signal, &act, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        Ok(signal)
    });
    result
        .as_ref()
        .map(|s| *s)
        .map_err(|e| ControlError::Signal(std::io::Error::from_raw_os_error(*e)))
}

impl VcpuControl {
    /// A control in the running state (installs the kick signal handler on first use).
    pub fn new() -> Result<Arc<Self>, ControlError> {
        Ok(Arc::new(VcpuControl {
            requested: AtomicU8::new(RUN),
            inner: Mutex::default(),
            changed: Condvar::new(),
            signal: kick_signal()?,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the calling thread as a vCPU thread until the registration is dropped.
    pub fn register(&self) -> Registration<'_> {
        let mut inner = self.lock();
        inner.next_token += 1;
        let token = inner.next_token;
        inner.threads.push(Registered {
            token,
            // SAFETY: pthread_self has no preconditions.
            thread: ThreadHandle(unsafe { libc::pthread_self() }),
            parked: false,
        });
        Registration { control: self, token }
    }

    /// Call before entering the guest: returns at once while running, parks while paused, and returns
    /// `false` when the vCPU must stop.
    pub fn checkpoint(&self, registration: &Registration<'_>) -> bool {
        match self.requested.load(Ordering::Acquire) {
            RUN => return true,
            STOP => return false,
            _ => {}
        }
        let mut inner = self.lock();
        set_parked(&mut inner, registration.token, true);
        self.changed.notify_all();
        while self.requested.load(Ordering::Acquire) == PAUSE {
            inner = self.changed.wait(inner).unwrap_or_else(|p| p.into_inner());
        }
        set_parked(&mut inner, registration.token, false);
        self.requested.load(Ordering::Acquire) != STOP
    }

    /// Stops every vCPU at its next checkpoint and returns once all registered vCPUs are parked. If one
    /// does not park within `timeout`, the pause is abandoned and the VM keeps running.
    pub fn pause(&self, timeout: Duration) -> Result<(), ControlError> {
        let mut inner = self.lock();
        if self
            .requested
            .compare_exchange(RUN, PAUSE, Ordering::AcqRel, Ordering::Acquire)
            == Err(STOP)
        {
            return Err(ControlError::Stopping);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let running = self.kick_unparked(&inner);
            if running == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                if self
                    .requested
                    .compare_exchange(PAUSE, RUN, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    self.changed.notify_all();
                }
                return Err(ControlError::Timeout(running, timeout));
            }
            inner = self
                .changed
                .wait_timeout(inner, KICK_INTERVAL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Lets paused vCPUs run again (nothing happens while running or stopping).
    pub fn resume(&self) {
        let _inner = self.lock();
        if self
            .requested
            .compare_exchange(PAUSE, RUN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.changed.notify_all();
        }
    }

    /// Makes every vCPU leave its run loop; returns once no vCPU is in the guest any more (all of them
    /// gone or parked) or after `timeout`.
    pub fn stop(&self, timeout: Duration) {
        let mut inner = self.lock();
        self.requested.store(STOP, Ordering::Release);
        self.changed.notify_all();
        let deadline = Instant::now() + timeout;
        while self.kick_unparked(&inner) > 0 && Instant::now() < deadline {
            inner = self
                .changed
                .wait_timeout(inner, KICK_INTERVAL)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Whether the vCPUs run, are paused or are stopping.
    pub fn state(&self) -> RunState {
        match self.requested.load(Ordering::Acquire) {
            RUN => RunState::Running,
            PAUSE => RunState::Paused,
            _ => RunState::Stopping,
        }
    }

    /// Registered vCPU threads.
    pub fn registered(&self) -> usize {
        self.lock().threads.len()
    }

    /// Signals every registered thread that is not parked; returns how many there were.
    fn kick_unparked(&self, inner: &Inner) -> usize {
        let mut running = 0;
        for t in inner.threads.iter().filter(|t| !t.parked) {
            running += 1;
            // SAFETY: `t.thread` is a live thread: threads deregister (under the lock we hold) before
            // they exit. The signal's handler is installed (see `kick_signal`) and does nothing.
            let rc = unsafe { libc::pthread_kill(t.thread.0, self.signal) };
            if rc != 0 {
                tracing::warn!(errno = rc, "cannot signal a vCPU thread");
            }
        }
        running
    }
}

fn set_parked(inner: &mut Inner, token: u64, parked: bool) {
    if let Some(t) = inner.threads.iter_mut().find(|t| t.token == token) {
        t.parked = parked;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    /// Threads that, like vCPUs in the guest, block in a system call only a signal interrupts.
    fn fake_vcpus(
        control: &Arc<VcpuControl>,
        n: usize,
    ) -> (Vec<std::thread::JoinHandle<()>>, Arc<AtomicU64>) {
        let rounds = Arc::new(AtomicU64::new(0));
        let handles = (0..n)
            .map(|_| {
                let (control, rounds) = (control.clone(), rounds.clone());
                std::thread::spawn(move || {
                    let reg = control.register();
                    while control.checkpoint(&reg) {
                        rounds.fetch_add(1, Ordering::SeqCst);
                        // SAFETY: pause has no preconditions; it returns after a signal handler ran.
                        unsafe { libc::pause() };
                    }
                })
            })
            .collect();
        (handles, rounds)
    }

    fn wait_for(what: &str, f: impl Fn() -> bool) {
        for _ in 0..10_000 {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("never happened: {what}");
    }

    #[test]
    fn pause_parks_every_thread_resume_lets_them_run_and_stop_ends_them() {
        let control = VcpuControl::new().unwrap();
        let (handles, rounds) = fake_vcpus(&control, 2);
        wait_for("both threads registered", || control.registered() == 2);
        assert_eq!(control.state(), RunState::Running);
        control.pause(Duration::from_secs(30)).unwrap();
        assert_eq!(control.state(), RunState::Paused);
        assert!(control.lock().threads.iter().all(|t| t.parked));
        let at_pause = rounds.load(Ordering::SeqCst);
        control.pause(Duration::from_secs(30)).unwrap();
        control.resume();
        assert_eq!(control.state(), RunState::Running);
        wait_for("the threads ran again", || {
            rounds.load(Ordering::SeqCst) > at_pause
        });
        control.stop(Duration::from_secs(30));
        assert_eq!(control.state(), RunState::Stopping);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(control.registered(), 0);
        assert!(matches!(
            control.pause(Duration::from_secs(1)),
            Err(ControlError::Stopping)
        ));
        control.resume();
        assert_eq!(control.state(), RunState::Stopping);
    }

    #[test]
    fn a_thread_that_never_parks_makes_pause_fail_and_the_vm_keep_running() {
        let control = VcpuControl::new().unwrap();
        let reg = control.register();
        let err = control.pause(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, ControlError::Timeout(1, _)), "{err}");
        assert_eq!(control.state(), RunState::Running);
        assert!(control.checkpoint(&reg));
        drop(reg);
        control.pause(Duration::from_millis(20)).unwrap();
        control.resume();
    }
}
