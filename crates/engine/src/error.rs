//! The engine's errors: each says what happened and what to do.

/// What can go wrong talking to a machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No daemon answers: the machine is stopped.
    #[error("the machine is not running; start it with `berth start`")]
    NotRunning,
    /// The daemon could not be started or exited at once.
    #[error("{0}")]
    Daemon(String),
    /// The machine reports an error.
    #[error("{0}")]
    Machine(String),
    /// The daemon rejected a request.
    #[error("{0}")]
    Rejected(String),
    /// Invalid input.
    #[error("{0}")]
    Invalid(String),
    /// Docker's API failed.
    #[error("Docker Engine: {0}")]
    Docker(String),
    /// The docker CLI (contexts) failed or is missing; the message says what to do.
    #[error("{0}")]
    DockerCli(String),
    /// The daemon's answer was not understood.
    #[error("unexpected answer from berthd: {0}")]
    Protocol(String),
    /// Stored credentials or the keyring failed.
    #[error(transparent)]
    Credentials(#[from] berth_credentials::Error),
    /// A registry refused, or could not be reached.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A push was refused by the registry.
    #[error("push denied: log in to {registry} with an account that may push to {repository} (`berth login {registry}`)")]
    PushDenied {
        /// The registry.
        registry: String,
        /// The repository pushed to.
        repository: String,
    },
    /// The image is built for another architecture than the machine's: it would run emulated, slowly or
    /// not at all; the caller must confirm.
    #[error(
        "{image} is built for {image_platforms}, and this machine runs {machine}: it would run emulated \
         (slow, and only where the machine has an emulator for it); confirm to run it anyway"
    )]
    NeedsEmulation {
        /// The image.
        image: String,
        /// The platforms it has.
        image_platforms: String,
        /// The machine's platform.
        machine: String,
    },
    /// I/O.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
