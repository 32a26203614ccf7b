//! One app per machine: launching Berth again shows and focuses the running app's window (also when it
//! was closed to the tray) and the second process exits (`tauri-plugin-single-instance`; on Linux through
//! a well-known name on the D-Bus session bus, so without a session bus every launch runs on its own).
//! A launch for another machine (`BERTH_HOME` or `BERTH_MACHINE` set) has a name of its own, so an
//! isolated test machine's window never hands itself to the user's everyday Berth.

use tauri::plugin::TauriPlugin;
use tauri::Wry;

/// The plugin, to be registered before any other.
pub fn plugin(identifier: &str) -> TauriPlugin<Wry> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(|app, _args, _cwd| {
        tracing::info!("berth-app was launched again: showing this window");
        crate::tray::show_window(app);
    });
    #[cfg(target_os = "linux")]
    let builder = builder.dbus_id(dbus_id(
        identifier,
        std::env::var_os("BERTH_HOME").as_deref(),
        std::env::var_os("BERTH_MACHINE").as_deref(),
    ));
    #[cfg(not(target_os = "linux"))]
    let _ = identifier;
    builder.build()
}

/// The D-Bus name prefix (the plugin appends `.SingleInstance`): the app's identifier, plus an element
/// from the machine's folder and name when either is chosen by the environment.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn dbus_id(identifier: &str, home: Option<&std::ffi::OsStr>, machine: Option<&std::ffi::OsStr>) -> String {
    if home.is_none() && machine.is_none() {
        return identifier.to_string();
    }
    // FNV-1a: stable across builds, unlike std's hasher. A D-Bus name element may not start with a digit.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [home, machine] {
        let bytes = part.map(|p| p.as_encoded_bytes()).unwrap_or_default();
        for &b in bytes.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{identifier}.m{h:016x}")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    /// D-Bus well-known names: elements of `[A-Za-z0-9_-]`, none empty or starting with a digit.
    fn valid_bus_name(name: &str) -> bool {
        name.len() <= 255
            && name.split('.').count() >= 2
            && name.split('.').all(|e| {
                !e.is_empty()
                    && !e.starts_with(|c: char| c.is_ascii_digit())
                    && e.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
    }

    #[test]
    fn the_everyday_app_uses_its_identifier_and_other_machines_get_their_own_name() {
        let id = "dev.berth.Berth";
        assert_eq!(dbus_id(id, None, None), id);
        let a = dbus_id(id, Some(OsStr::new("/tmp/a/home")), None);
        let b = dbus_id(id, Some(OsStr::new("/tmp/b/home")), None);
        let m = dbus_id(id, None, Some(OsStr::new("work")));
        let hm = dbus_id(id, Some(OsStr::new("work")), None);
        assert!(a != b && a != m && m != hm, "{a} {b} {m} {hm}");
        assert_eq!(a, dbus_id(id, Some(OsStr::new("/tmp/a/home")), None), "stable");
        for name in [&a, &b, &m, &hm] {
            assert!(valid_bus_name(&format!("{name}.SingleInstance")), "{name}");
        }
    }
}
