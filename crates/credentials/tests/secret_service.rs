//! The credential helper against a real Secret Service: `docker-credential-berth` run as the docker CLI
//! runs it, with a private D-Bus session and gnome-keyring (never the user's keyring), and the library in
//! a child test process given that session only.

use std::io::Write;
use std::process::{Command, Stdio};

use berth_credentials::{CredentialStore, Credentials, Error};
use berth_fixtures::keyring::{in_private_keyring, PrivateKeyring};

/// Runs the helper with `input` on stdin; (exit code, stdout).
fn helper(keyring: &PrivateKeyring, action: &str, input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_docker-credential-berth"))
        .arg(action)
        .envs(keyring.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run docker-credential-berth");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_helper_keeps_credentials_in_the_secret_service() {
    let keyring = match PrivateKeyring::start() {
        Ok(k) => k,
        Err(reason) => {
            eprintln!("SKIPPED the_helper_keeps_credentials_in_the_secret_service: {reason}");
            return;
        }
    };
    let not_found = (1, "credentials not found in native keychain\n".to_string());
    assert_eq!(helper(&keyring, "get", "127.0.0.1:5999\n"), not_found);
    let req = r#"{"ServerURL":"127.0.0.1:5999","Username":"ann","Secret":"s3cret pw"}"#;
    assert_eq!(helper(&keyring, "store", req), (0, String::new()));
    let (code, out) = helper(&keyring, "get", "127.0.0.1:5999\n");
    assert_eq!(code, 0, "{out}");
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"ServerURL": "127.0.0.1:5999", "Username": "ann", "Secret": "s3cret pw"})
    );
    let (code, out) = helper(&keyring, "list", "");
    assert_eq!(
        (code, serde_json::from_str::<serde_json::Value>(&out).unwrap()),
        (0, serde_json::json!({"127.0.0.1:5999": "ann"}))
    );

    // The secret is in the Secret Service itself (seen with libsecret's own tool when it is installed).
    if std::path::Path::new("/usr/bin/secret-tool").exists() {
        let out = Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                berth_credentials::KEYRING_SERVICE,
                "username",
                "127.0.0.1:5999",
            ])
            .envs(keyring.env())
            .output()
            .unwrap();
        let stored = String::from_utf8_lossy(&out.stdout);
        assert!(
            stored.contains("s3cret pw") && stored.contains("ann"),
            "secret-tool saw {stored:?}"
        );
    }

    assert_eq!(helper(&keyring, "erase", "127.0.0.1:5999\n"), (0, String::new()));
    assert_eq!(helper(&keyring, "get", "127.0.0.1:5999\n"), not_found);
    assert_eq!(helper(&keyring, "erase", "127.0.0.1:5999\n"), not_found);
    assert_eq!(helper(&keyring, "list", ""), (0, "{}\n".to_string()));
}

#[test]
fn the_library_in_a_private_session() {
    if !in_private_keyring("the_library_in_a_private_session") {
        return;
    }
    let store = CredentialStore::keyring();
    let creds = Credentials {
        server: "https://index.docker.io/v1/".into(),
        username: "bob".into(),
        secret: "t0ken".into(),
    };
    store.store(&creds).unwrap();
    assert_eq!(store.get("docker.io").unwrap().unwrap().secret, "t0ken");
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(store.erase("index.docker.io").unwrap());
    assert_eq!(store.get("docker.io").unwrap(), None);
}

#[test]
fn without_a_session_bus_the_helper_says_what_to_install() {
    let out = Command::new(env!("CARGO_BIN_EXE_docker-credential-berth"))
        .arg("list")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", "/nonexistent-berth-test")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no keyring is reachable") && text.contains("gnome-keyring"),
        "{text}"
    );
    let e = CredentialStore::keyring().list();
    assert!(
        matches!(e, Err(Error::NoKeyring { .. })) || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
    );
}
