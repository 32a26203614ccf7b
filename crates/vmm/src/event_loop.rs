//! The device thread: one epoll set over every queue-notify ioeventfd and every device backend fd.
//!
//! vCPUs never run device work for notified queues: KVM signals the queue's ioeventfd in the kernel and
//! this loop calls [`MmioTransport::notify_queue`] under the same lock MMIO exits take, so the
//! transport's checks (activated? queue exists?) apply to both paths.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

use crate::virtio_mmio::MmioTransport;

/// A transport shared by the MMIO bus and the event loop.
pub type SharedTransport = Arc<Mutex<MmioTransport>>;

enum Source {
    QueueNotify {
        transport: SharedTransport,
        queue: u16,
        fd: EventFd,
    },
    Backend {
        transport: SharedTransport,
    },
}

/// Errors of the device event loop.
#[derive(Debug, thiserror::Error)]
#[error("device event loop failed ({what}): {source}; the VM's devices cannot run")]
pub struct EventLoopError {
    what: &'static str,
    source: std::io::Error,
}

fn err(what: &'static str) -> impl FnOnce(std::io::Error) -> EventLoopError {
    move |source| EventLoopError { what, source }
}

/// An epoll set of device events.
pub struct EventLoop {
    epoll: Epoll,
    sources: Vec<Source>,
}

impl EventLoop {
    /// An empty loop.
    pub fn new() -> Result<Self, EventLoopError> {
        Ok(EventLoop {
            epoll: Epoll::new().map_err(err("create epoll"))?,
            sources: Vec::new(),
        })
    }

    fn add(&mut self, fd: RawFd, source: Source) -> Result<(), EventLoopError> {
        let token = self.sources.len() as u64;
        self.epoll
            .ctl(ControlOperation::Add, fd, EpollEvent::new(EventSet::IN, token))
            .map_err(err("watch a device fd"))?;
        self.sources.push(source);
        Ok(())
    }

    /// Calls `transport.notify_queue(queue)` whenever `fd` is signalled.
    pub fn add_queue_notify(
        &mut self,
        transport: SharedTransport,
        queue: u16,
        fd: EventFd,
    ) -> Result<(), EventLoopError> {
        let raw = fd.as_raw_fd();
        self.add(raw, Source::QueueNotify { transport, queue, fd })
    }

    /// Calls `transport.handle_backend_event()` whenever `fd` is readable.
    pub fn add_backend(&mut self, transport: SharedTransport, fd: RawFd) -> Result<(), EventLoopError> {
        self.add(fd, Source::Backend { transport })
    }

    /// Waits up to `timeout_ms` (-1: forever) for events and dispatches them; returns how many.
    pub fn run_once(&mut self, timeout_ms: i32) -> Result<usize, EventLoopError> {
        let mut events = [EpollEvent::default(); 32];
        let n = match self.epoll.wait(timeout_ms, &mut events) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(err("wait")(e)),
        };
        for ev in &events[..n] {
            let Some(source) = usize::try_from(ev.data()).ok().and_then(|i| self.sources.get(i)) else {
                continue;
            };
            match source {
                Source::QueueNotify { transport, queue, fd } => {
                    // Drain the counter; several kicks coalesce into one pass over the queue.
                    if let Err(e) = fd.read() {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            tracing::warn!(error = %e, "cannot read a queue notify eventfd");
                        }
                        continue;
                    }
                    lock(transport).notify_queue(u32::from(*queue));
                }
                Source::Backend { transport } => lock(transport).handle_backend_event(),
            }
        }
        Ok(n)
    }

    /// Runs the loop on its own thread for the life of the process; an epoll failure is logged and
    /// ends the thread.
    pub fn spawn(mut self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("devices".into())
            .spawn(move || loop {
                if let Err(e) = self.run_once(-1) {
                    tracing::error!("{e}");
                    return;
                }
            })
    }
}

fn lock(t: &SharedTransport) -> std::sync::MutexGuard<'_, MmioTransport> {
    t.lock().unwrap_or_else(|p| p.into_inner())
}
