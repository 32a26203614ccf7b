//! berthd's errors. Each message says what happened and what to do about it.

use std::path::PathBuf;

/// What can go wrong running a machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another berthd owns this machine.
    #[error("machine {name:?} is already run by berthd (pid {pid}); use `berth status` or `berth stop`")]
    AlreadyRunning {
        /// Machine name.
        name: String,
        /// The other daemon's pid.
        pid: u32,
    },
    /// No guest image where we looked.
    #[error("no guest image at {0}: build it with `vm-image/build` (or `scripts/run`, which builds what is missing)")]
    NoImage(PathBuf),
    /// The image manifest is unreadable.
    #[error("guest image manifest {path} is unreadable: {reason}; rebuild it with `vm-image/build`")]
    BadImage {
        /// Manifest path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A host program is missing.
    #[error(
        "{program} is not installed; install it with `sudo apt-get install {package}` (or run scripts/setup)"
    )]
    MissingTool {
        /// The program.
        program: &'static str,
        /// The Debian package.
        package: &'static str,
    },
    /// Invalid settings.
    #[error("invalid settings: {0}")]
    Config(#[from] berth_api::ConfigError),
    /// The data disk could not be prepared.
    #[error("cannot prepare the data disk {path}: {source}; check free space with `df -h`")]
    Disk {
        /// Disk path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A helper process could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// Which process.
        what: &'static str,
        /// Cause.
        source: std::io::Error,
    },
    /// The guest did not come up.
    #[error("the guest did not become ready: {0}")]
    Boot(String),
    /// The guest's vsock stream failed.
    #[error(transparent)]
    Vsock(#[from] berth_api::vsock_client::VsockError),
    /// I/O.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// berthd's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
