//! Registries added on the Registries screen to be reached over HTTPS, remembered in `preferences.json`
//! so they stay listed (and offered when pushing) across launches. Plain-HTTP ones are not kept here: they
//! go to the machine's insecure registries, in its settings. Names are shared with
//! ui/src/lib/backend/tauri.ts.

use std::path::Path;

use berth_engine::registry::RegistryAddr;

use crate::error::{AppError, Result};
use crate::preferences;

/// The remembered registries.
pub fn list() -> Vec<String> {
    preferences::current().registries
}

/// Checks `registry` as the engine reads addresses and adds it to the list in `path` (once, whatever its
/// case); returns the list.
pub fn add_in(path: &Path, registry: &str) -> Result<Vec<String>> {
    let input = registry.trim();
    if input.contains("://") {
        return Err(AppError::Invalid(format!(
            "registry address {input:?} must be host[:port] without a scheme, e.g. registry.example.com:5000; \
             for plain HTTP add it to the machine's insecure registries"
        )));
    }
    let host = RegistryAddr::parse(input)?.host;
    preferences::update(path, |prefs| {
        if !prefs.registries.iter().any(|r| r.eq_ignore_ascii_case(&host)) {
            prefs.registries.push(host);
        }
        Ok(prefs.registries.clone())
    })
}

/// Takes `registry` off the list in `path` (whatever its case); returns the list.
pub fn remove_in(path: &Path, registry: &str) -> Result<Vec<String>> {
    let registry = registry.trim().trim_end_matches('/');
    preferences::update(path, |prefs| {
        prefs.registries.retain(|r| !r.eq_ignore_ascii_case(registry));
        Ok(prefs.registries.clone())
    })
}

/// Remembers a registry (reached over HTTPS) so the Registries screen lists it.
#[tauri::command]
pub async fn known_registry_add(registry: String) -> Result<Vec<String>> {
    add_in(&preferences::required_file()?, &registry)
}

/// Forgets a registry added with `known_registry_add`.
#[tauri::command]
pub async fn known_registry_remove(registry: String) -> Result<Vec<String>> {
    remove_in(&preferences::required_file()?, &registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_checked_added_once_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app/preferences.json");
        assert_eq!(add_in(&path, " reg.lan:5000/ ").unwrap(), ["reg.lan:5000"]);
        assert_eq!(
            add_in(&path, "REG.lan:5000").unwrap(),
            ["reg.lan:5000"],
            "once, whatever the case"
        );
        add_in(&path, "ghcr.io").unwrap();
        for (bad, why) in [
            ("reg.lan/v2", "without a path"),
            ("reg.lan:http", "port"),
            ("http://reg.lan:5000", "insecure registries"),
            ("", "names no registry"),
        ] {
            let e = add_in(&path, bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert_eq!(
            preferences::load(&path).registries,
            ["reg.lan:5000", "ghcr.io"],
            "refusals save nothing"
        );
        assert_eq!(remove_in(&path, "Reg.Lan:5000").unwrap(), ["ghcr.io"]);
        assert_eq!(remove_in(&path, "not.there").unwrap(), ["ghcr.io"]);
    }
}
