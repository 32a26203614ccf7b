//! Docker's credential-helper protocol (`docker-credential-<name> ACTION`), as the docker CLI speaks it:
//! - `store`: stdin `{"ServerURL","Username","Secret"}`; prints nothing;
//! - `get`: stdin a server URL; prints `{"ServerURL","Username","Secret"}`, or [`NOT_FOUND`] and fails;
//! - `erase`: stdin a server URL; prints nothing, or [`NOT_FOUND`] and fails;
//! - `list`: prints `{"<server>": "<username>", …}`;
//! - `version`: prints the version.
//!
//! A failure prints its message on stdout (where the docker CLI reads it) and exits 1.

use std::io::{Read, Write};

use crate::store::{CredentialStore, Credentials, SecretStore};

/// The words the docker CLI recognises as "no credentials", exactly.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// Requests larger than this are refused (a request is a URL or three short strings).
const MAX_INPUT: u64 = 64 << 10;

/// Why a helper call failed; its text is what the helper prints.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    /// Nothing is stored for the server.
    #[error("{NOT_FOUND}")]
    NotFound,
    /// The request was not what the protocol says.
    #[error("{0}")]
    BadRequest(String),
    /// The keyring failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

/// Runs one helper `action`, reading the request from `input` and writing the answer to `output`.
pub fn run_helper<S: SecretStore>(
    action: &str,
    input: impl Read,
    mut output: impl Write,
    store: &CredentialStore<S>,
) -> Result<(), HelperError> {
    let mut text = String::new();
    let needs_input = matches!(action, "store" | "get" | "erase");
    if needs_input {
        input
            .take(MAX_INPUT)
            .read_to_string(&mut text)
            .map_err(|e| HelperError::BadRequest(format!("cannot read the request on stdin: {e}")))?;
    }
    let server = text.trim();
    let write = |out: &mut dyn Write, s: String| {
        out.write_all(s.as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| HelperError::BadRequest(format!("cannot write the answer: {e}")))
    };
    match action {
        "store" => {
            let creds: Credentials = serde_json::from_str(&text).map_err(|e| {
                HelperError::BadRequest(format!(
                    "store expects {{\"ServerURL\",\"Username\",\"Secret\"}} on stdin ({e})"
                ))
            })?;
            store.store(&creds)?;
            Ok(())
        }
        "get" => {
            if server.is_empty() {
                return Err(HelperError::BadRequest("no server URL on stdin".into()));
            }
            let creds = store.get(server)?.ok_or(HelperError::NotFound)?;
            let json = serde_json::to_string(&creds).map_err(|e| HelperError::BadRequest(e.to_string()))?;
            write(&mut output, json + "\n")
        }
        "erase" => {
            if server.is_empty() {
                return Err(HelperError::BadRequest("no server URL on stdin".into()));
            }
            if store.erase(server)? {
                Ok(())
            } else {
                Err(HelperError::NotFound)
            }
        }
        "list" => {
            let json =
                serde_json::to_string(&store.list()?).map_err(|e| HelperError::BadRequest(e.to_string()))?;
            write(&mut output, json + "\n")
        }
        "version" => write(
            &mut output,
            format!("docker-credential-berth (Berth) {}\n", env!("CARGO_PKG_VERSION")),
        ),
        other => Err(HelperError::BadRequest(format!(
            "unknown action {other:?}; use store, get, erase, list or version (the docker CLI calls these)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn call(action: &str, input: &str, store: &CredentialStore<MemoryStore>) -> Result<String, String> {
        let mut out = Vec::new();
        run_helper(action, input.as_bytes(), &mut out, store).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_docker_cli_conversation() {
        let s = CredentialStore::new(MemoryStore::default());
        assert_eq!(call("get", "127.0.0.1:5000\n", &s), Err(NOT_FOUND.to_string()));
        assert_eq!(call("list", "", &s).unwrap(), "{}\n");
        let req = r#"{"ServerURL":"127.0.0.1:5000","Username":"ann","Secret":"s3cret"}"#;
        assert_eq!(call("store", req, &s).unwrap(), "");
        let got: serde_json::Value =
            serde_json::from_str(&call("get", "127.0.0.1:5000\n", &s).unwrap()).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"ServerURL": "127.0.0.1:5000", "Username": "ann", "Secret": "s3cret"})
        );
        let list: serde_json::Value = serde_json::from_str(&call("list", "", &s).unwrap()).unwrap();
        assert_eq!(list, serde_json::json!({"127.0.0.1:5000": "ann"}));
        assert_eq!(call("erase", "127.0.0.1:5000", &s).unwrap(), "");
        assert_eq!(call("erase", "127.0.0.1:5000", &s), Err(NOT_FOUND.to_string()));
        assert_eq!(call("get", "127.0.0.1:5000", &s), Err(NOT_FOUND.to_string()));
    }

    #[test]
    fn docker_hub_under_any_of_its_names() {
        let s = CredentialStore::new(MemoryStore::default());
        let req = r#"{"ServerURL":"https://index.docker.io/v1/","Username":"bob","Secret":"t"}"#;
        call("store", req, &s).unwrap();
        let got = call("get", "https://index.docker.io/v1/", &s).unwrap();
        assert!(
            got.contains(r#""ServerURL":"https://index.docker.io/v1/""#),
            "{got}"
        );
        assert!(call("get", "docker.io", &s).unwrap().contains("\"bob\""));
    }

    #[test]
    fn bad_requests_say_what_was_expected() {
        let s = CredentialStore::new(MemoryStore::default());
        assert!(call("store", "127.0.0.1:5000", &s)
            .unwrap_err()
            .contains("expects"));
        assert!(call("store", r#"{"ServerURL":"r","Username":"","Secret":"x"}"#, &s).is_err());
        assert!(call("get", "  \n", &s).unwrap_err().contains("no server URL"));
        assert!(call("frobnicate", "", &s).unwrap_err().contains("unknown action"));
        assert!(call("version", "", &s)
            .unwrap()
            .starts_with("docker-credential-berth"));
    }
}
