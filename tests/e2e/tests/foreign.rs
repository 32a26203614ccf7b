//! Foreign architectures on a real machine: an arm64 image built here from Debian's arm64 busybox-static
//! (scripts/setup keeps it in the cache) builds, runs and serves HTTP under QEMU user emulation in the
//! guest (binfmt_misc rules the agent registers at boot), and `berth quickrun` asks before running it
//! emulated, then labels the container.

use std::path::PathBuf;
use std::time::Duration;

use berth_e2e::*;

/// Debian's busybox-static for arm64: $BERTH_FOREIGN_BUSYBOX, else where scripts/setup put it.
fn arm64_busybox() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_FOREIGN_BUSYBOX") {
        return p.into();
    }
    let cache = std::env::var_os("BERTH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("berth")))
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/berth"));
    cache.join("fixtures/busybox-static-arm64/busybox")
}

const ARM64_WEB: &str = "FROM scratch\n\
COPY busybox /bin/busybox\n\
RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
RUN uname -m > /www-arch\n\
COPY index.html /www/index.html\n\
EXPOSE 80\n\
CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n";

#[test]
fn an_arm64_image_builds_runs_and_serves_under_emulation() {
    let busybox = arm64_busybox();
    let elf =
        std::fs::read(&busybox).unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup", busybox.display()));
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(
        &elf[18..20],
        &[0xb7, 0x00],
        "the test program is an aarch64 binary"
    );

    machine();
    let tag = format!("berth-test/arm64-web:{}", std::process::id());
    let ctx = BuildDir::with_busybox(
        "arm64",
        &busybox,
        ARM64_WEB,
        &[("index.html", "hello from arm64\n")],
    );
    // The RUN steps execute arm64 code in the guest: the build itself needs the emulator.
    docker_in(
        &["build", "-q", "--platform", "linux/arm64", "-t", &tag, "."],
        Some(&ctx.0),
    )
    .ok();
    let arch = docker(&["image", "inspect", "--format", "{{.Architecture}}", &tag]).ok();
    assert_eq!(arch.stdout.trim(), "arm64");
    let run_arm64 = |cmd: &[&str]| {
        let args = [
            &["run", "--rm", "--platform", "linux/arm64", tag.as_str()][..],
            cmd,
        ]
        .concat();
        docker(&args).ok().stdout.trim().to_string()
    };
    assert_eq!(
        run_arm64(&["/bin/cat", "/www-arch"]),
        "aarch64",
        "uname inside the build saw an arm64 machine"
    );
    assert_eq!(run_arm64(&["/bin/uname", "-m"]), "aarch64");

    // Through the registry and the one-click flow: asked first, then run, labelled and answering.
    let remote = format!("{REGISTRY}/{tag}");
    docker(&["tag", &tag, &remote]).ok();
    docker(&["push", "-q", &remote]).ok();
    docker(&["rmi", &remote, &tag]).ok();
    let r = berth(&["quickrun", &remote, "--json"]);
    assert_ne!(
        r.code, 0,
        "a foreign image is not run without asking: {}",
        r.stdout
    );
    assert!(r.stderr.contains("--allow-emulated"), "{}", r.stderr);
    let r = berth(&["quickrun", &remote, "--allow-emulated", "--json"]).ok();
    let run: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(run["emulated"], true, "{run}");
    let url = run["urls"][0].as_str().expect("a URL").to_string();
    let port: u16 = url.rsplit_once(':').unwrap().1.parse().unwrap();
    let body = http_get(port, "/", Duration::from_secs(90)).expect("the emulated httpd answers on localhost");
    assert_eq!(body, "hello from arm64\n");
    let name = run["name"].as_str().unwrap().to_string();
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &name])
        .ok()
        .stdout;
    assert!(labels.contains("\"dev.berth.emulated\":\"true\""), "{labels}");
    docker(&["rm", "-f", &name]).ok();
    docker(&["rmi", &remote]).ok();
}
