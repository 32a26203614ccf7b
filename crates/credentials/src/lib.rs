//! Registry credentials, Docker's way: never in a plaintext file. They live in the operating system's
//! keyring (macOS Keychain, Windows Credential Manager, the freedesktop Secret Service on Linux), and the
//! `docker-credential-berth` binary serves them to the docker CLI through Docker's credential-helper
//! protocol (`store`, `get`, `erase`, `list` with JSON on stdin and stdout).
//!
//! `berth login` verifies a password against the registry, stores it here ([`CredentialStore`]) and adds
//! `"credHelpers": {"<registry>": "berth"}` to the docker CLI's `config.json` ([`use_helper_for`]), so a
//! `docker pull` through Berth's socket finds the same credentials; Berth's engine reads them directly to
//! send `X-Registry-Auth` on its own pulls and pushes.
//!
//! # The Linux backend: Secret Service
//! On Linux the keyring crate offers two stores: the freedesktop **Secret Service** (D-Bus; provided by
//! gnome-keyring, KeePassXC or KWallet) and the kernel's **keyutils**. We use the Secret Service:
//! - it persists across reboots (keyutils keys live in kernel memory and vanish at logout or reboot, so a
//!   user would have to log in to every registry again after each restart);
//! - it is what desktop users already have, unlocked with their session, and what `docker-credential-
//!   secretservice` and other tools use, so people can see and remove the entries with their usual tools
//!   (Seahorse, `secret-tool`);
//! - it is encrypted at rest by the provider, keyed to the user's login.
//!
//! The price is a running provider. Headless machines may have none: then every call fails with
//! [`Error::NoKeyring`], whose message names what to install and start; nothing falls back to a file.
//! We use keyring's blocking API (the helper is a short-lived process and needs no async runtime): over
//! libdbus on glibc Linux (`sync-secret-service`; the desktop app links libdbus anyway, through tao), and
//! over the pure-Rust zbus in static musl builds (the tier-3 harness's `berth`), which cannot link
//! libdbus. Tests run a private D-Bus session with `gnome-keyring-daemon`
//! (see `berth-fixtures`' `keyring` module), never the user's own keyring.
#![deny(missing_docs)]

mod docker_config;
mod error;
mod helper;
mod server;
mod store;

pub use docker_config::{docker_config_dir, use_helper_for, HelperSetup, HELPER_NAME};
pub use error::{Error, Result};
pub use helper::{run_helper, HelperError, NOT_FOUND};
pub use server::{registry_key, DOCKER_HUB_KEY};
pub use store::{CredentialStore, Credentials, KeyringStore, MemoryStore, SecretStore, KEYRING_SERVICE};
