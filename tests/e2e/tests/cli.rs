//! The berth CLI around a running machine: shell, logs, doctor, and settings it must refuse.

use berth_e2e::*;

#[test]
fn shell_runs_a_command_in_the_machine() {
    machine();
    let r = berth(&["shell", "--", "cat", "/etc/hostname"]).ok();
    assert_eq!(r.stdout.trim(), "berth");
    let r = berth(&[
        "shell",
        "--",
        "sh",
        "-c",
        "docker info --format '{{.ServerVersion}}'",
    ])
    .ok();
    assert!(
        !r.stdout.trim().is_empty(),
        "the docker CLI inside the guest reaches the engine"
    );
}

#[test]
fn logs_show_the_daemon_and_the_guest_console() {
    machine();
    let d = berth(&["logs", "-n", "200"]).ok();
    assert!(
        d.stdout.contains("is ready"),
        "berthd logged readiness:\n{}",
        d.stdout
    );
    let c = berth(&["logs", "--console"]).ok();
    assert!(
        c.stdout.contains("berth-agent:"),
        "the console holds the agent's lines"
    );
}

#[test]
fn doctor_reports_each_check_with_a_verdict() {
    machine();
    let r = berth(&["doctor", "--json"]);
    let findings: serde_json::Value = serde_json::from_str(&r.stdout).expect("doctor --json is JSON");
    let checks: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    for c in ["virtualization", "tools", "image", "disk", "sockets"] {
        assert!(checks.contains(&c), "doctor checks {c}: {findings}");
    }
    for f in findings.as_array().unwrap() {
        if f["ok"] == false {
            assert!(
                f["fix"].as_str().is_some_and(|s| !s.is_empty()),
                "a failed check says how to fix it: {f}"
            );
        }
    }
}

#[test]
fn invalid_settings_are_refused_with_the_valid_range() {
    machine();
    let r = berth(&["start", "--cpus", "0"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cpus must be between 1 and 64 (got 0)"),
        "{}",
        r.stderr
    );
    let r = berth(&["start", "--memory", "64"]);
    assert!(r.stderr.contains("between 512 and"), "{}", r.stderr);
    let r = berth(&["start", "--insecure-registry", "http://nope:5000"]);
    assert!(r.stderr.contains("without a scheme"), "{}", r.stderr);
    assert_eq!(status()["state"], "running", "nothing changed");
}

#[test]
fn status_reports_the_machines_measured_usage() {
    machine();
    let s = status();
    let u = &s["usage"];
    assert!(u.is_object(), "a running machine reports usage: {s}");
    let mem_total = u["memory_total_bytes"].as_u64().unwrap_or(0);
    let mem_used = u["memory_used_bytes"].as_u64().unwrap_or(u64::MAX);
    assert!(mem_total > 0, "guest memory total: {u}");
    assert!(
        mem_used > 0 && mem_used < mem_total,
        "dockerd uses some memory, not all: {u}"
    );
    let disk_size = u["disk_size_bytes"].as_u64().unwrap_or(0);
    assert!(disk_size > 0, "data disk size: {u}");
    assert!(
        u["disk_used_bytes"].as_u64().unwrap_or(u64::MAX) <= disk_size,
        "{u}"
    );
    let cpu = u["cpu_percent"].as_f64().expect("two snapshots give a CPU %");
    assert!((0.0..=100.0).contains(&cpu), "{u}");
    assert!(u["cpus"].as_u64().unwrap_or(0) >= 1, "{u}");
    // On Linux berthd reads the hypervisor's resident memory on the host.
    assert!(u["host_rss_bytes"].as_u64().unwrap_or(0) > 0, "{u}");
    let text = berth(&["status"]).ok();
    assert!(text.stdout.contains("Usage:    CPU "), "{}", text.stdout);
}

#[test]
fn delete_refuses_without_confirmation_when_not_at_a_terminal() {
    let r = berth(&["delete"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--yes"));
}
