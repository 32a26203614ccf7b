//! What can go wrong with stored credentials; each message says what happened and what to do.

/// A failure reading or changing stored credentials, or the docker CLI's config.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No keyring service answers (no Secret Service on Linux, a locked or missing keychain).
    #[error(
        "no keyring is reachable ({cause}); {hint}. Berth keeps registry passwords only in the keyring, \
         never in plain files"
    )]
    NoKeyring {
        /// The platform's own words.
        cause: String,
        /// What to install or start on this platform.
        hint: &'static str,
    },
    /// The keyring answered with an error.
    #[error("the keyring refused the request: {0}")]
    Keyring(String),
    /// What the keyring holds for an entry is not what Berth wrote there.
    #[error("the keyring entry for {server} is damaged ({detail}); log in to it again")]
    Damaged {
        /// The registry.
        server: String,
        /// What did not parse.
        detail: String,
    },
    /// Invalid input (an empty registry or user name).
    #[error("{0}")]
    Invalid(String),
    /// The docker CLI's config file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, with the path.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The docker CLI's config file is not JSON; we do not overwrite what we cannot read.
    #[error("{path} is not valid JSON ({detail}); fix or move it, then log in again")]
    BadDockerConfig {
        /// The file.
        path: String,
        /// The parser's words.
        detail: String,
    },
}

/// Result of credential operations.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
