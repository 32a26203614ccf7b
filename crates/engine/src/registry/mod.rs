//! Registries and Docker Hub: search Hub ([`Hub`]), list a registry's catalog and tags and read manifests
//! and configs ([`Registry`], OCI distribution via `oci-client`), and explore an image's layers without
//! pulling it into Docker ([`LayerReport`]: per layer its files, sizes and the step that made it, and the
//! bytes wasted on files later layers overwrote or deleted).
//!
//! Logins are checked against the registry before they are stored ([`verify_login`]).
//!
//! TLS is rustls with the `ring` provider (no OpenSSL); the provider is installed once, process-wide, the
//! first time a client is made.

mod auth;
mod client;
mod error;
mod explore;
mod hub;
mod image_config;
mod layers;
mod reference;

pub use auth::verify_login;
pub use client::{default_platform, ManifestInfo, PlatformImage, Registry, RegistryOptions, ResolvedImage};
pub use error::{RegistryError, Result};
pub use explore::explore_saved_image;
pub use hub::{Hub, HubRepo, HubTag, HubTagImage, SearchPage, TagPage, DEFAULT_HUB_URL, HUB_URL_ENV};
pub use image_config::{HistoryEntry, ImageConfig};
pub use layers::{
    analyze, Change, EntryKind, FileChange, LayerAnalyzer, LayerInfo, LayerInput, LayerReport, WastedPath,
};
pub use reference::{is_loopback_host, ImageRef, RegistryAddr, DOCKER_HUB_REGISTRY};

/// Makes rustls use `ring` (reqwest and oci-client are built without a provider of their own).
pub(crate) fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only when the process already chose a provider, which then serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client for Docker Hub's API.
pub(crate) fn http_client() -> Result<reqwest::Client> {
    install_crypto();
    reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| RegistryError::Unreachable {
            target: "Docker Hub".into(),
            cause: e.to_string(),
            hint: String::new(),
        })
}
