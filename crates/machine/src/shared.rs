//! The machine's status, shared by the supervisor, the forwarders and the control API, and the
//! broadcast of every change to `/v1/events` subscribers.

use std::sync::{Arc, Mutex};

use berth_api::{Event, Status};
use tokio::sync::broadcast;

/// Shared handle; cheap to clone.
#[derive(Clone)]
pub struct Shared {
    inner: Arc<Inner>,
}

struct Inner {
    status: Mutex<Status>,
    booted_at: Mutex<Option<std::time::Instant>>,
    hypervisor_pid: Mutex<Option<u32>>,
    events: broadcast::Sender<Event>,
}

impl Shared {
    /// Starts from `status`.
    pub fn new(status: Status) -> Shared {
        let (events, _) = broadcast::channel(256);
        Shared {
            inner: Arc::new(Inner {
                status: Mutex::new(status),
                booted_at: Mutex::new(None),
                hypervisor_pid: Mutex::new(None),
                events,
            }),
        }
    }

    /// A copy of the current status, uptime filled in.
    pub fn status(&self) -> Status {
        let mut s = self.lock().clone();
        let booted = *self.inner.booted_at.lock().unwrap_or_else(|p| p.into_inner());
        s.uptime_s = booted.map(|t| t.elapsed().as_secs());
        s
    }

    /// Records when the guest was (re)started, or that it is down.
    pub fn set_booted(&self, at: Option<std::time::Instant>) {
        *self.inner.booted_at.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Records the running hypervisor process (for `/v1/usage`), or that none runs.
    pub fn set_hypervisor_pid(&self, pid: Option<u32>) {
        *self
            .inner
            .hypervisor_pid
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = pid;
    }

    /// The running hypervisor process.
    pub fn hypervisor_pid(&self) -> Option<u32> {
        *self
            .inner
            .hypervisor_pid
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the status and tells subscribers (only when something changed).
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        let snapshot = {
            let mut s = self.lock();
            let before = s.clone();
            f(&mut s);
            if *s == before {
                return;
            }
            s.clone()
        };
        let _ = self.inner.events.send(Event::Status {
            status: Box::new(snapshot),
        });
    }

    /// Logs a line and sends it to subscribers.
    pub fn log(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!("{message}");
        let _ = self.inner.events.send(Event::Log { message });
    }

    /// A new subscription to future events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        // A panic while holding the lock leaves a usable Status; keep serving it.
        self.inner.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}
