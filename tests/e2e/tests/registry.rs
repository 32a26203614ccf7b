//! Registries with credentials and one-click runs, on a real machine: an htpasswd-protected
//! docker-registry started here on a free 127.0.0.1 port (the guest reaches it as
//! host.docker.internal:PORT, an insecure registry added to the machine's settings for this test, which
//! restarts the machine), a private Secret Service for the keyring, and a throwaway DOCKER_CONFIG.
//! `berth login` → `berth tag` + `berth push` → the real `docker pull` finding the credentials through
//! docker-credential-berth → `berth quickrun` answering on localhost.
//!
//! Needs `berth`, `berthd` and `docker-credential-berth` on PATH (scripts/test builds them).

use std::process::{Command, Stdio};
use std::time::Duration;

use berth_e2e::*;
use berth_fixtures::keyring::PrivateKeyring;
use berth_fixtures::registry::TestRegistry;

struct World {
    keyring: PrivateKeyring,
    docker_config: tempfile::TempDir,
}

impl World {
    /// Runs `program ARGS` with the private keyring and DOCKER_CONFIG, `stdin` piped in.
    fn run(&self, program: &str, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .envs(self.keyring.env())
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env("DOCKER_HOST", docker_host())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} is not on PATH ({e}): run the tests through scripts/test"));
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        let out = child.wait_with_output().unwrap();
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "$ {program} {}  → exit {}\n{}{}",
            args.join(" "),
            r.code,
            r.stdout,
            r.stderr
        );
        r
    }
}

/// Puts the machine's insecure registries back as scripts/test set them (applied at the next restart).
struct RestoreSettings;

impl Drop for RestoreSettings {
    fn drop(&mut self) {
        let _ = berth(&["start", "--insecure-registry", REGISTRY]);
    }
}

#[test]
fn login_push_pull_and_quickrun_through_an_authenticated_registry() {
    machine();
    let keyring = PrivateKeyring::start().expect("a private Secret Service (dbus-daemon, gnome-keyring)");
    let reg = TestRegistry::start_with_auth("e2e", "e2e pw").expect("docker-registry");
    let port = reg.host().rsplit_once(':').unwrap().1.to_string();
    let guest_host = format!("host.docker.internal:{port}");
    let w = World {
        keyring,
        docker_config: tempfile::tempdir().unwrap(),
    };

    // The guest's dockerd must reach the registry over plain HTTP: add it, restart to apply.
    let _restore = RestoreSettings;
    berth(&[
        "start",
        "--insecure-registry",
        REGISTRY,
        "--insecure-registry",
        &guest_host,
    ])
    .ok();
    berth(&["restart"]).ok();

    let r = w.run(
        "berth",
        &["login", &guest_host, "-u", "e2e", "--password-stdin"],
        "nope\n",
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("wrong username or password"), "{}", r.stderr);
    let r = w.run(
        "berth",
        &["login", &guest_host, "-u", "e2e", "--password-stdin"],
        "e2e pw\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.docker_config.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["credHelpers"][&guest_host], "berth", "{cfg}");

    // Tag and push with the stored credentials.
    let local = web_image();
    let remote = format!("{guest_host}/e2e/web:1");
    w.run("berth", &["tag", local, &remote], "").ok();
    let r = w.run("berth", &["push", &remote, "--json"], "").ok();
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        report["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{report}"
    );
    assert!(
        r.stderr.contains(": Pushed") || r.stderr.contains("Layer already exists"),
        "per-layer progress: {}",
        r.stderr
    );

    // Logged out, the registry refuses the push, and the message says what to do.
    w.run("berth", &["logout", &guest_host], "").ok();
    let r = w.run("berth", &["push", &remote], "");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("push denied: log in to"), "{}", r.stderr);
    w.run(
        "berth",
        &["login", &guest_host, "-u", "e2e", "--password-stdin"],
        "e2e pw\n",
    )
    .ok();

    // The real docker CLI pulls it back, asking docker-credential-berth for the credentials.
    w.run("docker", &["rmi", &remote], "").ok();
    w.run("docker", &["pull", &remote], "").ok();

    // One click: pulled (already there), its EXPOSE 80 published on a free port, answering on localhost.
    w.run("docker", &["rmi", &remote], "").ok();
    let r = w.run("berth", &["quickrun", &remote, "--json"], "").ok();
    let run: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let url = run["urls"][0].as_str().expect("a URL").to_string();
    let port: u16 = url.rsplit_once(':').unwrap().1.parse().unwrap();
    assert_eq!(run["emulated"], false, "{run}");
    let body = http_get(port, "/", Duration::from_secs(60)).expect("the container answers on localhost");
    assert_eq!(body, "hello from berth\n");
    let name = run["name"].as_str().unwrap().to_string();
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &name])
        .ok()
        .stdout;
    assert!(
        labels.contains("dev.berth.quickrun") && !labels.contains("dev.berth.emulated"),
        "{labels}"
    );

    // The human form prints the URL to open.
    let r = w.run("berth", &["quickrun", &remote, "--logs", "0"], "").ok();
    assert!(
        r.stdout.lines().any(|l| l.starts_with("Open http://localhost:")),
        "{}",
        r.stdout
    );
    let second = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Started "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();

    for c in [&name, &second] {
        docker(&["rm", "-f", c]).ok();
    }
    w.run("docker", &["rmi", &remote], "").ok();
    w.run("berth", &["logout", &guest_host], "").ok();
}
