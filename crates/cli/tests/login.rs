//! `berth login`, `logout` and the registry commands with stored credentials: the real `berth` binary
//! against Debian's docker-registry behind htpasswd auth, with a private Secret Service (D-Bus session +
//! gnome-keyring) given only to the `berth` processes, and a throwaway DOCKER_CONFIG.

use std::io::Write;
use std::process::{Command, Stdio};

use berth_fixtures::keyring::PrivateKeyring;
use berth_fixtures::registry::{file, layer_tar, push_as, RegistryAuth, TestImage, TestRegistry};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

struct World {
    keyring: Option<PrivateKeyring>,
    home: tempfile::TempDir,
}

impl World {
    fn berth(&self, args: &[&str], stdin: &str) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_HOME", self.home.path().join("berth"))
            .env("BERTH_RUNTIME_DIR", self.home.path().join("run"))
            .env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env_remove("BERTH_REGISTRY_PASSWORD")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_RUNTIME_DIR", self.home.path().join("no-session"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(k) = &self.keyring {
            cmd.envs(k.env());
        }
        let mut child = cmd.spawn().expect("run berth");
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn docker_config(&self) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(self.home.path().join("docker/config.json")).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    }
}

fn image() -> TestImage {
    TestImage {
        layers: vec![layer_tar(&[file("hello.txt", 6, b'h')])],
        history: vec![("ADD hello.txt /".into(), false)],
        architecture: "amd64".into(),
        variant: None,
    }
}

#[tokio::test]
async fn login_stores_checked_credentials_that_the_registry_commands_use() {
    let (keyring, reg) = match (
        PrivateKeyring::start(),
        TestRegistry::start_with_auth("ann", "pw 1"),
    ) {
        (Ok(k), Ok(r)) => (k, r),
        (Err(reason), _) | (_, Err(reason)) => {
            eprintln!("SKIPPED login_stores_checked_credentials_that_the_registry_commands_use: {reason}");
            return;
        }
    };
    let host = reg.host().to_string();
    push_as(
        &host,
        "team/app",
        "1",
        &image(),
        RegistryAuth::Basic("ann".into(), "pw 1".into()),
    )
    .await
    .unwrap();
    let w = World {
        keyring: Some(keyring),
        home: tempfile::tempdir().unwrap(),
    };

    let r = w.berth(&["login", &host, "-u", "ann", "--password-stdin"], "wrong\n");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!("berth: wrong username or password for {host}; nothing was stored")
    );
    assert!(w.docker_config().is_none(), "nothing written for a refused login");
    let r = w.berth(&["catalog", &host], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("refused access") && r.stderr.contains("berth login"),
        "{}",
        r.stderr
    );

    // No password as an argument, and none from a pipe without --password-stdin.
    assert_eq!(
        w.berth(&["login", &host, "-u", "ann", "--password", "pw 1"], "")
            .code,
        2
    );
    let r = w.berth(&["login", &host, "-u", "ann"], "pw 1\n");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--password-stdin"), "{}", r.stderr);

    let r = w.berth(&["login", &host, "-u", "ann", "--password-stdin"], "pw 1\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!("Logged in to {host} as ann")),
        "{}",
        r.stdout
    );
    let cfg = w.docker_config().expect("config.json written");
    assert_eq!(cfg["credHelpers"][&host], "berth", "{cfg}");

    let r = w.berth(&["catalog", &host, "--json"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap(),
        serde_json::json!(["team/app"])
    );
    let r = w.berth(&["tags", &format!("{host}/team/app"), "--json"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"1\""), "{}", r.stdout);

    let r = w.berth(&["logout", &host], "");
    assert_eq!(
        (r.code, r.stdout.trim()),
        (
            0,
            format!("Logged out of {host}; its credentials are gone from your keyring.").as_str()
        )
    );
    let r = w.berth(&["logout", &host], "");
    assert_eq!(r.stdout.trim(), format!("Not logged in to {host}."));
    assert_eq!(
        w.berth(&["catalog", &host], "").code,
        1,
        "the credentials are gone"
    );
}

#[test]
fn without_a_keyring_login_says_what_to_start_and_machine_commands_need_a_machine() {
    let Ok(reg) = TestRegistry::start_with_auth("ann", "pw") else {
        eprintln!("SKIPPED without_a_keyring_login_says_what_to_start: no docker-registry");
        return;
    };
    let w = World {
        keyring: None,
        home: tempfile::tempdir().unwrap(),
    };
    let r = w.berth(&["login", reg.host(), "-u", "ann", "--password-stdin"], "pw");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no keyring is reachable") && r.stderr.contains("gnome-keyring"),
        "{}",
        r.stderr
    );
    assert!(w.docker_config().is_none());
    for args in [
        &["push", "127.0.0.1:5999/app:1"][..],
        &["quickrun", "127.0.0.1:5999/app:1"],
        &["tag", "a", "b:1"],
    ] {
        let r = w.berth(args, "");
        assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("berth start"), "{}", r.stderr);
    }
}
