//! berth-agent: PID 1 of Berth's guest. See DESIGN.md ("berth-agent") and `berth_proto` for the
//! host↔guest contract. Module map:
//! - boot: the sequence; mounts, net, etc_files, disk, clock, binfmt: the pieces it runs
//! - services (+ reaper): containerd and dockerd under supervision; docker_api: readiness probe
//! - vsock + control, forward, shell, docker_bridge (+ splice): the host's channels
//! - usage: CPU, memory and data-disk use for the host's `Usage` request
//! - dns: the DNS shim; signals, shutdown: how it ends

#[macro_use]
mod log;
mod binfmt;
mod boot;
mod clock;
mod control;
mod disk;
mod dns;
mod docker_api;
mod docker_bridge;
mod etc_files;
mod forward;
mod mounts;
mod net;
mod reaper;
mod reclaim;
mod services;
mod shell;
mod shutdown;
mod signals;
mod splice;
mod sys;
mod usage;
mod vsock;

use std::io::Write;

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn main() {
    if std::process::id() != 1 {
        let _ = writeln!(
            std::io::stderr(),
            "berth-agent is the guest's init: boot it with init=/sbin/berth-agent"
        );
        std::process::exit(2);
    }
    // Before any thread exists: the environment children inherit, and the signal mask.
    std::env::set_var("PATH", PATH);
    std::env::set_var("TERM", "linux");
    signals::install();
    std::panic::set_hook(Box::new(|info| log!("BUG: panic: {info}")));
    let early_failures = mounts::early();
    log!(
        "berth-agent {} starting on kernel {}",
        env!("CARGO_PKG_VERSION"),
        sys::kernel_release()
    );
    reaper::start();
    sys::spawn("boot", move || {
        if std::panic::catch_unwind(move || boot::run(early_failures)).is_err() {
            if let Some(agent) = boot::agent() {
                agent.hub.set_phase(
                    berth_proto::Phase::Failed,
                    "the agent's boot sequence crashed (a bug; see console.log)",
                );
            }
        }
    });
    signals::wait_forever();
}
