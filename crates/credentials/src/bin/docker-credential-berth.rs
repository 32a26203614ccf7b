//! `docker-credential-berth`: the docker CLI's credential helper for registries you logged in to with
//! `berth login`. The docker CLI runs it when `~/.docker/config.json` says
//! `"credHelpers": {"<registry>": "berth"}`; it must be on PATH. Credentials live in the OS keyring.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(action) = std::env::args().nth(1) else {
        eprintln!(
            "usage: docker-credential-berth store|get|erase|list|version (the docker CLI runs this; \
             log in with `berth login`)"
        );
        return ExitCode::from(2);
    };
    let store = berth_credentials::CredentialStore::keyring();
    match berth_credentials::run_helper(&action, std::io::stdin().lock(), std::io::stdout().lock(), &store) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The protocol: the error's text on stdout, exit 1.
            println!("{e}");
            ExitCode::from(1)
        }
    }
}
