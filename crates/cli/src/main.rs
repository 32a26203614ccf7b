//! `berth`: the command line for Berth machines.
//!
//! Exit codes: 0 success, 1 the operation failed (message on stderr), 2 usage error (clap), 3 the
//! machine is not running where it must be.

mod account;
mod doctor;
mod layers;
mod lifecycle;
mod logs;
mod registry;
mod shell;
mod table;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Linux containers on your laptop: a small VM running Docker Engine"
)]
struct Cli {
    /// Machine to act on.
    #[arg(long, global = true, default_value = berth_api::DEFAULT_MACHINE, env = "BERTH_MACHINE")]
    machine: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the machine (building nothing; see scripts/run) and wait until Docker is ready.
    Start(lifecycle::StartArgs),
    /// Stop Docker Engine and power the machine off cleanly.
    Stop,
    /// Restart the machine, applying saved settings.
    Restart,
    /// Show the machine's state, backend, versions and forwarded ports.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show berthd's log, or the guest console with --console.
    Logs(logs::LogsArgs),
    /// Open a shell in the machine, or run a command there.
    Shell(shell::ShellArgs),
    /// Check virtualization, tools, disk, sockets and ports, each finding with a fix.
    Doctor {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search Docker Hub for repositories.
    Search(registry::SearchArgs),
    /// List the tags of a Docker Hub repository, or of a repository on a registry.
    Tags(registry::TagsArgs),
    /// List the repositories of a registry.
    Catalog(registry::CatalogArgs),
    /// Show what each layer of an image adds, changes and deletes, and the space wasted.
    Layers(layers::LayersArgs),
    /// Log in to a registry: checks the password, keeps it in your OS keyring, and lets the docker CLI
    /// use it through docker-credential-berth.
    Login(account::LoginArgs),
    /// Forget a registry's credentials.
    Logout(account::LogoutArgs),
    /// Name an image in the machine for a registry (`berth tag app 127.0.0.1:5000/app:1`).
    Tag(transfer::TagArgs),
    /// Push an image from the machine to its registry, with the credentials of `berth login`.
    Push(transfer::PushArgs),
    /// Pull an image, publish its ports on free local ports, start it, and print the URLs to open.
    Quickrun(transfer::QuickRunArgs),
    /// Delete the machine: its images, containers, volumes and settings.
    Delete {
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
}

/// A failure with the exit code it deserves.
pub struct Failure {
    code: u8,
    message: String,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

/// Result of a command.
pub type CmdResult = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let engine = berth_engine::Engine::new(&cli.machine);
    let result = rt.block_on(async {
        match cli.command {
            Cmd::Start(a) => lifecycle::start(&engine, a).await,
            Cmd::Stop => lifecycle::stop(&engine).await,
            Cmd::Restart => lifecycle::restart(&engine).await,
            Cmd::Status { json } => lifecycle::status(&engine, json).await,
            Cmd::Logs(a) => logs::run(&engine, a).await,
            Cmd::Shell(a) => shell::run(&engine, a).await,
            Cmd::Doctor { json } => doctor::run(&engine, json).await,
            Cmd::Delete { yes } => lifecycle::delete(&engine, yes).await,
            Cmd::Search(a) => registry::search(a).await,
            Cmd::Tags(a) => registry::tags(a).await,
            Cmd::Catalog(a) => registry::catalog(a).await,
            Cmd::Layers(a) => layers::run(&engine, a).await,
            Cmd::Login(a) => account::login(&engine, a).await,
            Cmd::Logout(a) => account::logout(&engine, a).await,
            Cmd::Tag(a) => transfer::tag(&engine, a).await,
            Cmd::Push(a) => transfer::push(&engine, a).await,
            Cmd::Quickrun(a) => transfer::quickrun(&engine, a).await,
        }
    });
    // Don't wait for blocking reads still in flight: `berth shell` leaves one on stdin when the remote
    // side ends first, and a terminal's stdin never reaches EOF by itself.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("berth: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
