//! The app's error: an engine error or a bad request, serialised as `{ kind, message }` for the UI,
//! whose message already says what happened and what to do.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Anything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the engine (machine control or Docker).
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// The request itself was wrong.
    #[error("{0}")]
    Invalid(String),
    /// Starting at login could not be read or changed.
    #[error(transparent)]
    LoginItem(#[from] crate::login_item::LoginItemError),
    /// Docker Hub or a registry refused or could not be reached.
    #[error(transparent)]
    Registry(#[from] berth_engine::registry::RegistryError),
}

/// The commands' result type.
pub type Result<T> = std::result::Result<T, AppError>;

impl AppError {
    /// A short machine-readable kind the UI can branch on.
    pub fn kind(&self) -> &'static str {
        use berth_engine::Error as E;
        match self {
            AppError::Engine(E::NotRunning) => "not_running",
            AppError::Engine(E::Daemon(_)) | AppError::Engine(E::Machine(_)) => "machine",
            AppError::Engine(E::Docker(_)) => "docker",
            AppError::Engine(E::DockerCli(_)) => "docker_cli",
            AppError::Engine(E::Rejected(_)) | AppError::Engine(E::Invalid(_)) | AppError::Invalid(_) => {
                "invalid"
            }
            AppError::Engine(E::Registry(r)) | AppError::Registry(r) => registry_kind(r),
            AppError::Engine(E::NeedsEmulation { .. }) => "needs_emulation",
            AppError::Engine(E::PushDenied { .. }) => "unauthorized",
            AppError::Engine(E::Credentials(_)) => "credentials",
            AppError::Engine(_) => "internal",
            AppError::LoginItem(_) => "login_item",
        }
    }
}

/// The kinds the registry screens branch on (a wrong password, a rate limit, an image that is not there).
fn registry_kind(e: &berth_engine::registry::RegistryError) -> &'static str {
    use berth_engine::registry::RegistryError as R;
    match e {
        R::InvalidReference { .. } => "invalid",
        R::Unreachable { .. } => "unreachable",
        R::RateLimited { .. } => "rate_limited",
        R::NotFound { .. } => "not_found",
        R::Unauthorized { .. } => "unauthorized",
        R::WrongCredentials { .. } => "wrong_credentials",
        R::NoSuchPlatform { .. } => "no_such_platform",
        _ => "registry",
    }
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("AppError", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_kind_and_actionable_message() {
        let e = AppError::from(berth_engine::Error::NotRunning);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "not_running");
        assert_eq!(
            v["message"],
            "the machine is not running; start it with `berth start`"
        );
        let v = serde_json::to_value(AppError::Engine(berth_engine::Error::Docker(
            "No such image: x".into(),
        )))
        .unwrap();
        assert_eq!(v["kind"], "docker");
        assert_eq!(v["message"], "Docker Engine: No such image: x");
        let v = serde_json::to_value(AppError::Engine(berth_engine::Error::DockerCli(
            "install it".into(),
        )))
        .unwrap();
        assert_eq!(v["kind"], "docker_cli");
        let v = serde_json::to_value(AppError::Registry(
            berth_engine::registry::RegistryError::WrongCredentials {
                registry: "127.0.0.1:5000".into(),
            },
        ))
        .unwrap();
        assert_eq!(v["kind"], "wrong_credentials");
        assert_eq!(
            v["message"],
            "wrong username or password for 127.0.0.1:5000; nothing was stored"
        );
        let v = serde_json::to_value(AppError::Engine(berth_engine::Error::NeedsEmulation {
            image: "app:1".into(),
            image_platforms: "linux/arm64".into(),
            machine: "linux/amd64".into(),
        }))
        .unwrap();
        assert_eq!(v["kind"], "needs_emulation");
        assert!(v["message"]
            .as_str()
            .unwrap()
            .contains("confirm to run it anyway"));
    }
}
