//! `berth stop` stops Docker Engine and powers the guest off cleanly; afterwards nothing is left running.

use berth_e2e::*;

#[test]
fn berth_stop_powers_off_cleanly() {
    machine();
    let console =
        std::path::PathBuf::from(std::env::var("BERTH_HOME").expect("BERTH_HOME set by scripts/test"))
            .join("machines/default/console.log");
    let before = std::fs::read_to_string(&console).unwrap_or_default().len();
    let host = docker_host();
    berth(&["stop"]).ok();
    let s = status();
    assert_eq!(s["state"], "stopped", "{s}");
    let sock = host.trim_start_matches("unix://");
    assert!(!std::path::Path::new(sock).exists(), "docker.sock is removed");
    let log = std::fs::read_to_string(&console).unwrap_or_default();
    let tail = &log[before.min(log.len())..];
    assert!(
        tail.contains("berth-agent: shutdown: power off"),
        "the agent shut down cleanly:\n{tail}"
    );
    assert!(!tail.contains("forcing power-off"), "no forced shutdown:\n{tail}");
    let r = berth(&["status"]);
    assert_eq!(r.code, 3, "status of a stopped machine exits 3");
}
