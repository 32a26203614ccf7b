//! Logging in to registries: the password is checked against the registry first, then kept in the OS
//! keyring (`berth-credentials`), never in a file. Berth's own pulls, pushes and registry browsing read it
//! from there; the docker CLI reads it through `docker-credential-berth` once its `config.json` names the
//! helper for that registry ([`use_helper_in_docker_cli`]).
//!
//! Registry names are the ones images use inside the machine. `host.docker.internal[:port]` is this
//! computer as the guest sees it, so it is checked on the host at `127.0.0.1[:port]`.

use berth_credentials::{registry_key, CredentialStore, Credentials, HelperSetup};
use serde::{Deserialize, Serialize};

use crate::registry::{verify_login, RegistryAddr, RegistryOptions, DOCKER_HUB_REGISTRY};
use crate::{Engine, Error, Result};

/// The guest's name for this computer.
pub const HOST_ALIAS: &str = "host.docker.internal";

/// What a login did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// The registry, as its credentials are filed (`127.0.0.1:5000`, `https://index.docker.io/v1/`).
    pub registry: String,
    /// The user name stored.
    pub username: String,
}

impl Engine {
    /// Checks `user` and `password` against `registry` (`127.0.0.1:5000`, `registry.example.com`,
    /// `docker.io`), and only when the registry accepts them stores them in the keyring. Registries in the
    /// machine's insecure list, and registries on this computer, are reached over plain HTTP.
    pub async fn login(&self, registry: &str, user: &str, password: &str) -> Result<Login> {
        if user.is_empty() || password.is_empty() {
            return Err(Error::Invalid(
                "a user name and a password are both needed".into(),
            ));
        }
        let name = if registry.trim().is_empty() {
            DOCKER_HUB_REGISTRY
        } else {
            registry.trim()
        };
        let addr = RegistryAddr::parse(name)?;
        let insecure = self
            .settings()
            .await
            .map(|c| c.insecure_registries)
            .unwrap_or_default();
        let (http_host, plain_http) = reach(&addr, &insecure);
        verify_login(&addr.host, &http_host, plain_http, user, password).await?;
        let key = registry_key(&addr.host);
        let creds = Credentials {
            server: key.clone(),
            username: user.to_string(),
            secret: password.to_string(),
        };
        blocking(move || CredentialStore::keyring().store(&creds)).await?;
        tracing::info!(registry = %key, user, "logged in");
        Ok(Login {
            registry: key,
            username: user.to_string(),
        })
    }

    /// Forgets `registry`'s credentials; whether there were any.
    pub async fn logout(&self, registry: &str) -> Result<bool> {
        let key = registry_key(if registry.trim().is_empty() {
            DOCKER_HUB_REGISTRY
        } else {
            registry
        });
        blocking(move || CredentialStore::keyring().erase(&key)).await
    }

    /// How to reach `host` with the registry client: the stored credentials, and plain HTTP when the
    /// machine lists it as insecure.
    pub async fn registry_options(&self, host: &str) -> Result<RegistryOptions> {
        let insecure = self
            .settings()
            .await
            .map(|c| c.insecure_registries)
            .unwrap_or_default();
        Ok(RegistryOptions {
            insecure: insecure.iter().any(|r| r.eq_ignore_ascii_case(host)),
            credentials: credentials_for(host).await?.map(|c| (c.username, c.secret)),
        })
    }
}

/// The credentials stored for `registry`, if any. A registry nobody logged in to, or a computer without
/// a keyring, has none: pulls then go anonymously.
pub async fn credentials_for(registry: &str) -> Result<Option<Credentials>> {
    let registry = registry.to_string();
    match blocking(move || CredentialStore::keyring().get(&registry)).await {
        Err(Error::Credentials(berth_credentials::Error::NoKeyring { cause, .. })) => {
            tracing::debug!(%cause, "no keyring: no stored credentials");
            Ok(None)
        }
        other => other,
    }
}

/// Every registry with stored credentials, and its user name.
pub async fn logged_in() -> Result<std::collections::BTreeMap<String, String>> {
    blocking(|| CredentialStore::keyring().list()).await
}

/// Makes the docker CLI (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`) ask
/// `docker-credential-berth` for `registry`'s credentials; other settings in the file are kept.
pub fn use_helper_in_docker_cli(registry: &str) -> Result<HelperSetup> {
    let dir = berth_credentials::docker_config_dir().ok_or_else(|| {
        Error::Invalid("cannot find the docker CLI's config folder: set HOME or DOCKER_CONFIG".into())
    })?;
    Ok(berth_credentials::use_helper_for(&dir, registry)?)
}

/// Credentials for Docker's `X-Registry-Auth` when pulling or pushing `reference` (`127.0.0.1:5000/app:1`).
pub(crate) async fn docker_credentials(reference: &str) -> Result<Option<bollard::auth::DockerCredentials>> {
    let registry = reference_registry(reference);
    Ok(credentials_for(&registry)
        .await?
        .map(|c| bollard::auth::DockerCredentials {
            username: Some(c.username),
            password: Some(c.secret),
            serveraddress: Some(registry_key(&registry)),
            ..Default::default()
        }))
}

/// The registry part of an image reference, as Docker reads it (`nginx` → `docker.io`).
pub(crate) fn reference_registry(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => DOCKER_HUB_REGISTRY.to_string(),
    }
}

/// The registry as this computer reaches it (`host.docker.internal:5000` → `127.0.0.1:5000`).
pub fn host_side(registry: &str) -> String {
    if registry == DOCKER_HUB_REGISTRY {
        return registry.to_string();
    }
    match RegistryAddr::parse(registry) {
        Ok(addr) => reach(&addr, &[]).0,
        Err(_) => registry.to_string(),
    }
}

/// Where the host reaches `addr`, and whether over plain HTTP.
fn reach(addr: &RegistryAddr, insecure: &[String]) -> (String, bool) {
    let listed = insecure.iter().any(|r| r.eq_ignore_ascii_case(&addr.host));
    let host = match addr.host.split_once(':') {
        Some((name, port)) if name.eq_ignore_ascii_case(HOST_ALIAS) => format!("127.0.0.1:{port}"),
        None if addr.host.eq_ignore_ascii_case(HOST_ALIAS) => "127.0.0.1".into(),
        _ => addr.host.clone(),
    };
    let host = if host == DOCKER_HUB_REGISTRY {
        "registry-1.docker.io".into()
    } else {
        host
    };
    let plain = addr.plain_http || listed || crate::registry::is_loopback_host(&host);
    (host, plain)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> berth_credentials::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Invalid(format!("the keyring call did not finish: {e}")))?
        .map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_reached_where_the_host_sees_them() {
        let addr = |s| RegistryAddr::parse(s).unwrap();
        assert_eq!(
            reach(&addr("127.0.0.1:5000"), &[]),
            ("127.0.0.1:5000".into(), true)
        );
        assert_eq!(
            reach(&addr("host.docker.internal:5001"), &[]),
            ("127.0.0.1:5001".into(), true),
            "the guest's name for this computer"
        );
        assert_eq!(reach(&addr("reg.lan:5000"), &[]), ("reg.lan:5000".into(), false));
        assert_eq!(
            reach(&addr("reg.lan:5000"), &["reg.lan:5000".into()]),
            ("reg.lan:5000".into(), true),
            "insecure in the machine's settings"
        );
        assert_eq!(
            reach(&addr("docker.io"), &[]),
            ("registry-1.docker.io".into(), false)
        );
    }

    #[test]
    fn references_name_their_registry_as_docker_reads_them() {
        assert_eq!(reference_registry("nginx"), "docker.io");
        assert_eq!(reference_registry("bitnami/redis:7"), "docker.io");
        assert_eq!(reference_registry("127.0.0.1:5000/app:1"), "127.0.0.1:5000");
        assert_eq!(reference_registry("localhost/app"), "localhost");
        assert_eq!(reference_registry("ghcr.io/o/app@sha256:abc"), "ghcr.io");
    }
}
