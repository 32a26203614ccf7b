//! The Discover and Registries screens' commands: Docker Hub search and tags, a registry's catalog and tags,
//! logins (checked by the registry, kept in the OS keyring by the engine — the password passes through
//! here once and is never returned or logged), and the layer explorer for local and remote images.
//! Names are shared with ui/src/lib/backend/tauri.ts.

use berth_engine::registry::{ImageRef, LayerReport, Registry, RegistryOptions, SearchPage, TagPage};
use berth_engine::{host_side, Engine, Login};
use serde::Serialize;
use tauri::State;

use crate::commands::AppState;
use crate::error::{AppError, Result};

/// A registry the machine knows, as the UI's `RegistryEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryEntry {
    registry: String,
    insecure: bool,
    mirror: bool,
    /// Added on the Registries screen (remembered in the app's preferences, reached over HTTPS).
    added: bool,
    username: Option<String>,
}

/// The registries, and why logins could not be listed (no keyring) when they could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistriesView {
    registries: Vec<RegistryEntry>,
    keyring_error: Option<String>,
}

/// Page `page` (from 1; the first when absent) of a Docker Hub search; `next_page` says whether more follow.
#[tauri::command]
pub async fn hub_search(query: String, limit: u32, page: Option<u32>) -> Result<SearchPage> {
    Ok(crate::hub_address::hub()?
        .search_page(&query, limit, page.unwrap_or(1))
        .await?)
}

/// Page `page` (from 1; the first when absent) of a Hub repository's tags.
#[tauri::command]
pub async fn hub_tags(repository: String, limit: u32, page: Option<u32>) -> Result<TagPage> {
    Ok(crate::hub_address::hub()?
        .tags_page(&repository, limit, page.unwrap_or(1))
        .await?)
}

/// The machine's platform (`linux/amd64`), from Docker's `/info`.
#[tauri::command]
pub async fn machine_platform(state: State<'_, AppState>) -> Result<String> {
    // Says "not running" plainly when there is no Docker socket yet.
    state.engine.docker_api()?;
    let info = state
        .engine
        .docker()?
        .info()
        .await
        .map_err(|e| AppError::Engine(berth_engine::Error::Docker(e.to_string())))?;
    Ok(berth_engine::machine_platform(
        info.architecture.as_deref().unwrap_or(std::env::consts::ARCH),
    ))
}

#[tauri::command]
pub async fn registries_list(state: State<'_, AppState>) -> Result<RegistriesView> {
    let cfg = state.engine.settings().await?;
    let (logins, keyring_error) = match berth_engine::logged_in().await {
        Ok(l) => (l, None),
        Err(e) => (Default::default(), Some(e.to_string())),
    };
    let logins = logins
        .into_iter()
        .map(|(key, user)| (display_name(&key), user))
        .collect();
    Ok(RegistriesView {
        registries: merge(
            &cfg.insecure_registries,
            &cfg.registry_mirrors,
            &crate::known_registries::list(),
            logins,
        ),
        keyring_error,
    })
}

#[tauri::command]
pub async fn registry_catalog(state: State<'_, AppState>, registry: String) -> Result<Vec<String>> {
    let addr = berth_engine::registry::RegistryAddr::parse(registry.trim())?;
    if addr.host == "docker.io" || addr.host.ends_with(".docker.io") {
        return Err(AppError::Invalid(
            "Docker Hub does not list its catalog; search it on the Discover screen".into(),
        ));
    }
    let mut opts = options(&state.engine, &addr.host).await;
    opts.insecure |= addr.plain_http;
    Ok(Registry::new(&host_side(&addr.host), &opts).catalog(1000).await?)
}

#[tauri::command]
pub async fn registry_tags(state: State<'_, AppState>, repository: String) -> Result<Vec<String>> {
    let (registry, image) = reach(&state.engine, &repository).await?;
    Ok(registry.tags(&image).await?)
}

/// Checks the password with the registry; only then does the engine store it (in the OS keyring).
#[tauri::command]
pub async fn registry_login(
    state: State<'_, AppState>,
    registry: String,
    username: String,
    password: String,
) -> Result<Login> {
    let login = state.engine.login(&registry, username.trim(), &password).await;
    drop(password);
    let login = login?;
    // The docker CLI finds the same credentials through docker-credential-berth (as `berth login` does);
    // a config.json that cannot be changed does not undo the login.
    if let Err(e) = berth_engine::use_helper_in_docker_cli(&login.registry) {
        tracing::warn!(error = %e, "the docker CLI's config.json was left alone");
    }
    Ok(login)
}

#[tauri::command]
pub async fn registry_logout(state: State<'_, AppState>, registry: String) -> Result<bool> {
    Ok(state.engine.logout(&registry).await?)
}

/// The layer explorer for an image in the machine's Docker (exported to a temporary file, analysed).
#[tauri::command]
pub async fn layers_local(state: State<'_, AppState>, image: String) -> Result<LayerReport> {
    Ok(state.engine.docker_api()?.explore_layers(image.trim()).await?)
}

/// The layer explorer for an image on a registry: blobs stream through the analysis, nothing is pulled.
#[tauri::command]
pub async fn layers_remote(
    state: State<'_, AppState>,
    reference: String,
    platform: Option<String>,
) -> Result<LayerReport> {
    let (registry, image) = reach(&state.engine, reference.trim()).await?;
    let mut report = registry.explore_layers(&image, platform.as_deref()).await?;
    report.image = reference.trim().to_string();
    Ok(report)
}

/// A client for the registry of `reference` as this computer reaches it, with the stored credentials, and
/// the reference rewritten for that address (`host.docker.internal:5000/app` → `127.0.0.1:5000/app`).
async fn reach(engine: &Engine, reference: &str) -> Result<(Registry, ImageRef)> {
    let image = ImageRef::parse(reference)?;
    let opts = options(engine, image.registry()).await;
    let host = host_side(image.registry());
    let here = if host == image.registry() {
        image
    } else {
        ImageRef::parse(&image.to_string().replacen(image.registry(), &host, 1))?
    };
    Ok((Registry::new(&host, &opts), here))
}

/// How to reach `registry`: plain HTTP when the machine lists it as insecure, and the stored credentials;
/// when the keyring cannot be read, anonymously (the registry then says whether it needs a login).
async fn options(engine: &Engine, registry: &str) -> RegistryOptions {
    match engine.registry_options(registry).await {
        Ok(o) => o,
        Err(e) => {
            tracing::debug!(error = %e, registry, "no stored credentials readable; asking anonymously");
            let insecure = engine
                .settings()
                .await
                .map(|c| {
                    c.insecure_registries
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(registry))
                })
                .unwrap_or(false);
            RegistryOptions {
                insecure,
                credentials: None,
            }
        }
    }
}

/// Credentials are filed under Docker's key for Hub; the UI names it as images do.
fn display_name(key: &str) -> String {
    if key == berth_credentials::DOCKER_HUB_KEY {
        "docker.io".into()
    } else {
        key.to_string()
    }
}

/// One entry per registry: insecure ones and mirrors from the settings, those added on the Registries
/// screen, then logins, sorted by name.
fn merge(
    insecure: &[String],
    mirrors: &[String],
    added: &[String],
    logins: std::collections::BTreeMap<String, String>,
) -> Vec<RegistryEntry> {
    let mut out: Vec<RegistryEntry> = Vec::new();
    let mut entry = |name: &str| -> usize {
        match out.iter().position(|e| e.registry.eq_ignore_ascii_case(name)) {
            Some(i) => i,
            None => {
                out.push(RegistryEntry {
                    registry: name.to_string(),
                    insecure: false,
                    mirror: false,
                    added: false,
                    username: None,
                });
                out.len() - 1
            }
        }
    };
    let mut marks: Vec<(usize, u8, Option<String>)> = Vec::new();
    for r in insecure {
        marks.push((entry(r), 0, None));
    }
    for m in mirrors {
        marks.push((entry(m), 1, None));
    }
    for a in added {
        marks.push((entry(a), 2, None));
    }
    for (r, user) in logins {
        marks.push((entry(&r), 3, Some(user)));
    }
    for (i, what, user) in marks {
        match what {
            0 => out[i].insecure = true,
            1 => out[i].mirror = true,
            2 => out[i].added = true,
            _ => out[i].username = user,
        }
    }
    out.sort_by(|a, b| a.registry.cmp(&b.registry));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guests_name_for_this_computer_is_loopback_here() {
        assert_eq!(host_side("host.docker.internal:5000"), "127.0.0.1:5000");
        assert_eq!(host_side("HOST.docker.internal"), "127.0.0.1");
        assert_eq!(host_side("reg.lan:5000"), "reg.lan:5000");
        assert_eq!(host_side("docker.io"), "docker.io");
    }

    #[test]
    fn registries_merge_settings_added_ones_and_logins() {
        let logins = std::collections::BTreeMap::from([
            ("host.docker.internal:5000".to_string(), "ann".to_string()),
            (display_name(berth_credentials::DOCKER_HUB_KEY), "bob".to_string()),
        ]);
        let got = merge(
            &["host.docker.internal:5000".into(), "reg.lan:5000".into()],
            &["https://mirror.lan".into()],
            &["ghcr.io".into(), "REG.lan:5000".into()],
            logins,
        );
        let row = |r: &str| got.iter().find(|e| e.registry == r).unwrap().clone();
        assert_eq!(got.len(), 5);
        let ghcr = row("ghcr.io");
        assert!(ghcr.added && !ghcr.insecure && !ghcr.mirror && ghcr.username.is_none());
        assert!(
            row("reg.lan:5000").added && row("reg.lan:5000").insecure,
            "one row, whatever the case"
        );
        assert!(!row("host.docker.internal:5000").added);
        assert!(row("host.docker.internal:5000").insecure);
        assert_eq!(row("host.docker.internal:5000").username.as_deref(), Some("ann"));
        assert_eq!(row("docker.io").username.as_deref(), Some("bob"));
        assert!(row("https://mirror.lan").mirror && !row("reg.lan:5000").mirror);
    }
}
