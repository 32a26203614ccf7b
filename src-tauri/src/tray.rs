//! The tray menu: the machine's state (a disabled first item, updated from berthd's status events by
//! `events`), Start / Stop machine (enabled by that state), Open Berth, Quit. With a tray, closing the
//! window hides it and Quit quits; without one, closing the window quits.
//!
//! On Linux the tray is drawn by libayatana-appindicator3 (or libappindicator3), which tauri's tray-icon
//! loads at run time and panics if it cannot: so we look for it first and go without a tray when it is
//! missing (`apt install libayatana-appindicator3-1`).

use berth_api::{MachineState, Status};
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};

use crate::commands::AppState;

/// The label of the main window (tauri.conf.json).
const MAIN_WINDOW: &str = "main";

/// The tray's items that change with the machine's state.
pub struct Tray<R: Runtime> {
    state: MenuItem<R>,
    start: MenuItem<R>,
    stop: MenuItem<R>,
    icon: TrayIcon<R>,
}

/// Creates the tray, or logs why there is none.
pub fn install<R: Runtime>(app: &AppHandle<R>) {
    if let Some(missing) = missing_library() {
        tracing::info!("no tray icon: {missing} is not installed; closing the window quits Berth");
        return;
    }
    match build(app) {
        Ok(tray) => {
            app.manage(tray);
        }
        Err(e) => tracing::warn!(error = %e, "no tray icon; closing the window quits Berth"),
    }
}

fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Tray<R>> {
    let none = None::<&str>;
    let state = MenuItem::with_id(app, "state", "Checking the machine…", false, none)?;
    let start = MenuItem::with_id(app, "start", "Start machine", false, none)?;
    let stop = MenuItem::with_id(app, "stop", "Stop machine", false, none)?;
    let open = MenuItem::with_id(app, "open", "Open Berth", true, none)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Berth", true, none)?;
    let menu = Menu::with_items(
        app,
        &[
            &state,
            &PredefinedMenuItem::separator(app)?,
            &start,
            &stop,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("berth")
        .menu(&menu)
        .tooltip("Berth")
        .on_menu_event(on_menu_event);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(Tray {
        state,
        start,
        stop,
        icon,
    })
}

/// On Linux, the appindicator library tray-icon will load (its names, in its order), or none when one loads.
#[cfg(target_os = "linux")]
fn missing_library() -> Option<&'static str> {
    let found = [c"libayatana-appindicator3.so.1", c"libappindicator3.so.1"]
        .iter()
        .any(|name| {
            // SAFETY: dlopen with a NUL-terminated name; the library stays loaded (tray-icon opens it next),
            // and loading it runs only GTK's own initialisers.
            !unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_LAZY) }.is_null()
        });
    (!found).then_some("libayatana-appindicator3")
}

#[cfg(not(target_os = "linux"))]
fn missing_library() -> Option<&'static str> {
    None
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        "start" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                // Progress and failure reach the window (and this menu) through the status events.
                if let Err(e) = app.state::<AppState>().start().await {
                    tracing::warn!(error = %e, "starting the machine from the tray failed");
                }
            });
        }
        "stop" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = app.state::<AppState>().engine.stop().await {
                    tracing::warn!(error = %e, "stopping the machine from the tray failed");
                }
            });
        }
        "open" => show_window(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Shows, un-minimizes and focuses the main window.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// With a tray, closing the window hides it (Quit in the tray quits).
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        if window.label() == MAIN_WINDOW && window.try_state::<Tray<R>>().is_some() {
            api.prevent_close();
            let _ = window.hide();
        }
    }
}

/// Shows the machine's state in the tray (a no-op without one).
pub fn show_status<R: Runtime>(app: &AppHandle<R>, status: &Status) {
    let Some(tray) = app.try_state::<Tray<R>>() else {
        return;
    };
    let (can_start, can_stop) = actions(status.state);
    let label = state_label(status.state);
    let results = [
        tray.state.set_text(label),
        tray.start.set_enabled(can_start),
        tray.stop.set_enabled(can_stop),
        tray.icon
            .set_tooltip(Some(format!("Berth — {}", label.to_lowercase()))),
    ];
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        tracing::warn!(error = %e, "cannot update the tray menu");
    }
}

/// The first item's text.
fn state_label(state: MachineState) -> &'static str {
    match state {
        MachineState::Stopped => "Machine stopped",
        MachineState::Starting => "Machine starting…",
        MachineState::Running => "Machine running",
        MachineState::Stopping => "Machine stopping…",
        MachineState::Error => "Machine failed — open Berth for details",
    }
}

/// Whether Start and Stop are enabled.
fn actions(state: MachineState) -> (bool, bool) {
    match state {
        MachineState::Stopped | MachineState::Error => (true, false),
        MachineState::Starting | MachineState::Running => (false, true),
        MachineState::Stopping => (false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_stop_follow_the_state() {
        assert_eq!(actions(MachineState::Stopped), (true, false));
        assert_eq!(
            actions(MachineState::Error),
            (true, false),
            "a failed machine can be started again"
        );
        assert_eq!(actions(MachineState::Starting), (false, true));
        assert_eq!(actions(MachineState::Running), (false, true));
        assert_eq!(actions(MachineState::Stopping), (false, false));
        assert_eq!(state_label(MachineState::Running), "Machine running");
    }
}
