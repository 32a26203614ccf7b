//! berthd: `berthd [--machine NAME]`. Boots the machine at once, serves the control API, and exits
//! when the machine is stopped. Started by the CLI or the app; survives them.

use std::os::unix::fs::PermissionsExt;
use std::process::ExitCode;

use anyhow::Context;
use berth_api::{MachinePaths, Status};
use berth_machine::api::{router, ApiState};
use berth_machine::image::GuestImage;
use berth_machine::lock::MachineLock;
use berth_machine::shared::Shared;
use berth_machine::supervisor::{self, Supervisor};
use berth_machine::{probe, Error};
use clap::Parser;
use tokio::net::UnixListener;

#[derive(Parser)]
#[command(name = "berthd", version, about = "Berth machine daemon")]
struct Args {
    /// Machine name.
    #[arg(long, default_value = berth_api::DEFAULT_MACHINE)]
    machine: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let paths = MachinePaths::new(&args.machine);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("berthd: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(paths)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: error: {e:#}");
            let already = e
                .downcast_ref::<Error>()
                .is_some_and(|e| matches!(e, Error::AlreadyRunning { .. }));
            ExitCode::from(if already { 3 } else { 2 })
        }
    }
}

async fn run(paths: MachinePaths) -> anyhow::Result<()> {
    std::fs::create_dir_all(&paths.data_dir)
        .with_context(|| format!("cannot create {}", paths.data_dir.display()))?;
    std::fs::create_dir_all(&paths.run_dir)
        .with_context(|| format!("cannot create {}", paths.run_dir.display()))?;
    // Traversable but not listable: each socket carries its own mode (docker.sock and control.sock are
    // 0600); passt, which runs as nobody under root, must reach its own folder inside.
    let _ = std::fs::set_permissions(&paths.run_dir, std::fs::Permissions::from_mode(0o711));
    let _lock = MachineLock::acquire(&paths.lock_file(), &paths.name)?;
    init_logging(&paths);

    let cfg = supervisor::load_config(&paths);
    cfg.validate().map_err(Error::from)?;
    let image = GuestImage::open(&GuestImage::default_dir())?;
    let backend = probe::choose_backend(&image, &paths.run_dir.join("probe.json")).await;
    tracing::info!(backend = ?backend.kind, reason = %backend.reason, image = %image.manifest.image_id, "starting");

    let mut status = Status::stopped(&paths.name, paths.docker_host(), &cfg);
    status.backend = Some(backend.clone());
    status.pid = Some(std::process::id());
    status.versions.image = Some(image.manifest.image_id.clone());
    let shared = Shared::new(status);

    let control = paths.control_socket();
    let _ = std::fs::remove_file(&control);
    let listener =
        UnixListener::bind(&control).with_context(|| format!("cannot listen on {}", control.display()))?;
    let _ = std::fs::set_permissions(&control, std::fs::Permissions::from_mode(0o600));

    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let app = router(ApiState {
        shared: shared.clone(),
        commands: tx.clone(),
        paths: paths.clone(),
        usage: Default::default(),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let sup = Supervisor {
        paths: paths.clone(),
        image,
        backend,
        shared: shared.clone(),
    };
    let machine = tokio::spawn(sup.run(rx));
    // SIGTERM / Ctrl-C stop the machine the same way `berth stop` does.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! { _ = sigterm.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
        tracing::info!("signal received: stopping the machine");
        let (reply, _done) = tokio::sync::oneshot::channel();
        let _ = tx.send(supervisor::Command::Stop(reply)).await;
    });
    let reply = machine.await.ok().flatten();
    shared.update(|s| {
        s.state = berth_api::MachineState::Stopped;
        s.detail = None;
        s.ports.clear();
    });
    if let Some(r) = reply {
        let _ = r.send(());
    }
    // Let the stop request's response go out before the socket disappears.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.abort();
    for p in [
        control,
        paths.docker_socket(),
        paths.vsock_socket(),
        paths.vhost_socket(),
    ] {
        let _ = std::fs::remove_file(p);
    }
    tracing::info!("machine stopped");
    Ok(())
}

fn init_logging(paths: &MachinePaths) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| "info".into());
    // stderr is the daemon log (the CLI redirects it there when it starts berthd).
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    tracing::info!(log = %paths.daemon_log().display(), "berthd {}", env!("CARGO_PKG_VERSION"));
}
