//! Errors of the vsock device and its vhost-user backend.

use std::path::PathBuf;

/// Why the vsock device could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum VsockError {
    /// A Unix socket of the device could not be created.
    #[error("cannot listen on {path}: {source} (is the folder writable and the path under ~104 bytes?)")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The device's event loop (epoll, timer) could not be set up or polled.
    #[error("vsock event loop failed ({what}): {source}")]
    EventLoop {
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The guest's virtqueue could not be accessed (bad ring addresses in guest memory).
    #[error("virtqueue access failed: {0} (the guest driver gave an invalid ring)")]
    Queue(#[from] virtio_queue::Error),
    /// The vhost-user daemon failed.
    #[error("vhost-user backend failed: {0}")]
    VhostUser(String),
}

impl VsockError {
    pub(crate) fn event_loop(what: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::EventLoop { what, source }
    }
}
