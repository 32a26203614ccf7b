//! Credentials per registry on top of a secret store: the OS keyring ([`KeyringStore`]) or memory
//! ([`MemoryStore`], for tests). Each registry is one entry (its key as the account, `{"Username",
//! "Secret"}` as the secret); one more entry indexes them, because no keyring API can enumerate
//! portably and the helper's `list` must.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::server::registry_key;

/// The keyring service Berth's entries are filed under.
pub const KEYRING_SERVICE: &str = "dev.berth.registry";
/// The account of the index entry (not a valid registry host, so never a registry's key).
const INDEX_ACCOUNT: &str = "@index";

/// A place that keeps secrets by account name.
pub trait SecretStore: Send + Sync {
    /// The secret of `account`, if any.
    fn get(&self, account: &str) -> Result<Option<String>>;
    /// Stores `secret` for `account`, replacing any.
    fn set(&self, account: &str, secret: &str) -> Result<()>;
    /// Removes `account`'s secret; whether there was one.
    fn delete(&self, account: &str) -> Result<bool>;
}

/// The operating system's keyring.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Berth's entries in the user's keyring.
    pub fn new() -> KeyringStore {
        KeyringStore {
            service: KEYRING_SERVICE.into(),
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry> {
        check_reachable()?;
        keyring::Entry::new(&self.service, account).map_err(keyring_error)
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        KeyringStore::new()
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, account: &str) -> Result<Option<String>> {
        match self.entry(account)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.entry(account)?.set_password(secret).map_err(keyring_error)
    }

    fn delete(&self, account: &str) -> Result<bool> {
        match self.entry(account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// What to install or start when no keyring answers, on this platform.
const NO_KEYRING_HINT: &str = if cfg!(target_os = "linux") {
    "start a Secret Service provider in your desktop session: gnome-keyring (Debian/Ubuntu: `apt install \
     gnome-keyring`, then log out and in) or KeePassXC with Secret Service integration enabled; on a \
     headless machine run one inside `dbus-run-session`"
} else if cfg!(target_os = "macos") {
    "unlock your login keychain (Keychain Access) and try again"
} else {
    "make sure Windows Credential Manager is available to your account"
};

fn keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::PlatformFailure(cause) | keyring::Error::NoStorageAccess(cause) => Error::NoKeyring {
            cause: cause.to_string(),
            hint: NO_KEYRING_HINT,
        },
        other => Error::Keyring(other.to_string()),
    }
}

/// On Linux, refuses early when there is no session bus at all, with a message that says what to
/// install and start: libdbus would otherwise try to autolaunch a bus (leaving a stray daemon).
fn check_reachable() -> Result<()> {
    if cfg!(target_os = "linux") {
        let env_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
        let runtime_bus = std::env::var_os("XDG_RUNTIME_DIR")
            .map(|d| std::path::Path::new(&d).join("bus").exists())
            .unwrap_or(false);
        if !env_bus && !runtime_bus {
            return Err(Error::NoKeyring {
                cause: "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus \
                        does not exist"
                    .into(),
                hint: NO_KEYRING_HINT,
            });
        }
    }
    Ok(())
}

/// Secrets in memory: for tests, and for callers that must not touch the user's keyring.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, String>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, account: &str) -> Result<Option<String>> {
        Ok(self.lock().get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.lock().insert(account.into(), secret.into());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool> {
        Ok(self.lock().remove(account).is_some())
    }
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One registry's credentials, in the credential-helper protocol's JSON shape.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The registry (`127.0.0.1:5000`, `https://index.docker.io/v1/`).
    #[serde(rename = "ServerURL")]
    pub server: String,
    /// User name.
    #[serde(rename = "Username")]
    pub username: String,
    /// Password or token.
    #[serde(rename = "Secret")]
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("secret", &"<hidden>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// Registry credentials in a secret store.
pub struct CredentialStore<S: SecretStore = KeyringStore> {
    secrets: S,
}

impl CredentialStore<KeyringStore> {
    /// The user's keyring.
    pub fn keyring() -> CredentialStore<KeyringStore> {
        CredentialStore::new(KeyringStore::new())
    }
}

impl<S: SecretStore> CredentialStore<S> {
    /// Credentials kept in `secrets`.
    pub fn new(secrets: S) -> CredentialStore<S> {
        CredentialStore { secrets }
    }

    /// Stores `creds` under its registry's key, replacing what was there.
    pub fn store(&self, creds: &Credentials) -> Result<()> {
        let key = registry_key(&creds.server);
        if key.is_empty() || creds.username.is_empty() || creds.secret.is_empty() {
            return Err(Error::Invalid(
                "a registry, a user name and a password are all needed".into(),
            ));
        }
        let stored = Stored {
            username: creds.username.clone(),
            secret: creds.secret.clone(),
        };
        let json = serde_json::to_string(&stored).map_err(|e| Error::Keyring(e.to_string()))?;
        self.secrets.set(&key, &json)?;
        let mut index = self.list()?;
        index.insert(key, creds.username.clone());
        self.write_index(&index)
    }

    /// The credentials stored for `server`, if any (`server` is reported as asked).
    pub fn get(&self, server: &str) -> Result<Option<Credentials>> {
        let key = registry_key(server);
        let Some(json) = self.secrets.get(&key)? else {
            return Ok(None);
        };
        let stored: Stored = serde_json::from_str(&json).map_err(|e| Error::Damaged {
            server: key,
            detail: e.to_string(),
        })?;
        Ok(Some(Credentials {
            server: server.to_string(),
            username: stored.username,
            secret: stored.secret,
        }))
    }

    /// Removes `server`'s credentials; whether there were any.
    pub fn erase(&self, server: &str) -> Result<bool> {
        let key = registry_key(server);
        let existed = self.secrets.delete(&key)?;
        let mut index = self.list()?;
        if index.remove(&key).is_some() {
            self.write_index(&index)?;
        }
        Ok(existed)
    }

    /// Every registry with stored credentials, and its user name.
    pub fn list(&self) -> Result<BTreeMap<String, String>> {
        match self.secrets.get(INDEX_ACCOUNT)? {
            // A damaged index only loses the listing, never the credentials: start it afresh.
            Some(json) => Ok(serde_json::from_str(&json).unwrap_or_default()),
            None => Ok(BTreeMap::new()),
        }
    }

    fn write_index(&self, index: &BTreeMap<String, String>) -> Result<()> {
        if index.is_empty() {
            self.secrets.delete(INDEX_ACCOUNT).map(|_| ())
        } else {
            let json = serde_json::to_string(index).map_err(|e| Error::Keyring(e.to_string()))?;
            self.secrets.set(INDEX_ACCOUNT, &json)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(server: &str, user: &str) -> Credentials {
        Credentials {
            server: server.into(),
            username: user.into(),
            secret: format!("pw-{user}"),
        }
    }

    #[test]
    fn store_get_list_erase() {
        let s = CredentialStore::new(MemoryStore::default());
        assert_eq!(s.get("127.0.0.1:5000").unwrap(), None);
        s.store(&creds("http://127.0.0.1:5000/", "ann")).unwrap();
        s.store(&creds("docker.io", "bob")).unwrap();
        let got = s.get("127.0.0.1:5000").unwrap().unwrap();
        assert_eq!((got.username.as_str(), got.secret.as_str()), ("ann", "pw-ann"));
        assert_eq!(got.server, "127.0.0.1:5000", "reported as asked");
        assert_eq!(
            s.get("https://index.docker.io/v1/").unwrap().unwrap().username,
            "bob"
        );
        let list: Vec<(String, String)> = s.list().unwrap().into_iter().collect();
        assert_eq!(
            list,
            [
                ("127.0.0.1:5000".to_string(), "ann".to_string()),
                ("https://index.docker.io/v1/".to_string(), "bob".to_string())
            ]
        );
        s.store(&creds("127.0.0.1:5000", "cy")).unwrap();
        assert_eq!(s.list().unwrap()["127.0.0.1:5000"], "cy", "a new login replaces");
        assert!(s.erase("127.0.0.1:5000").unwrap());
        assert!(!s.erase("127.0.0.1:5000").unwrap());
        assert_eq!(s.get("127.0.0.1:5000").unwrap(), None);
        assert_eq!(s.list().unwrap().len(), 1);
        s.erase("docker.io").unwrap();
        assert!(
            s.secrets.get(INDEX_ACCOUNT).unwrap().is_none(),
            "no empty index left behind"
        );
    }

    #[test]
    fn incomplete_credentials_are_refused() {
        let s = CredentialStore::new(MemoryStore::default());
        assert!(s.store(&creds("", "ann")).is_err());
        assert!(s.store(&creds("r:5000", "")).is_err());
        let mut c = creds("r:5000", "ann");
        c.secret.clear();
        assert!(s.store(&c).is_err());
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn damaged_entries_say_so() {
        let s = CredentialStore::new(MemoryStore::default());
        s.secrets.set("r:5000", "not json").unwrap();
        assert!(s
            .get("r:5000")
            .unwrap_err()
            .to_string()
            .contains("log in to it again"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", creds("r", "ann")).contains("pw-ann"));
    }
}
