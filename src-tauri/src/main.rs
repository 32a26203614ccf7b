//! The Berth desktop app: a Tauri window over berth-engine. Commands are in `commands`, the engine's
//! event streams are forwarded by `events`, container logs by `logs`. The window starts the machine when
//! it opens and finds it stopped (so a failure shows where the user looks), unless `BERTH_APP_AUTOSTART=0`.
//! Around the window: the tray menu (`tray`), starting at login (`login_item`), the window's remembered size
//! and position (`window_state`) and the first-paint timing for scripts/bench/app (`launch`). The machine's
//! CPU, memory and disk use reach Home through `usage`. One app per user: launching it again shows and
//! focuses the running one's window and the second process exits (`single_instance`). Docker Hub, registries,
//! logins and the layer explorer are in `registry` (the Hub address in `hub_address`, registries added on
//! the Registries screen in `known_registries`, both kept by `preferences`), one-click runs in
//! `quickrun`, pushing an image to a registry in `push`.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod downloads;
mod error;
mod events;
mod hub_address;
mod known_registries;
mod launch;
mod login_item;
mod logs;
mod preferences;
mod push;
mod quickrun;
mod registry;
mod settings;
mod single_instance;
mod stats;
mod terminal;
mod tray;
mod troubleshoot;
mod usage;
mod window_state;

use crate::commands::AppState;
use berth_api::DEFAULT_MACHINE;
use berth_engine::Engine;

fn main() {
    launch::mark_start();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let machine = std::env::var("BERTH_MACHINE").unwrap_or_else(|_| DEFAULT_MACHINE.to_string());
    let autostart = std::env::var("BERTH_APP_AUTOSTART")
        .map(|v| v != "0")
        .unwrap_or(true);
    let engine = Engine::new(&machine);
    let context = tauri::generate_context!();

    let result = tauri::Builder::default()
        // First, so a second launch exits before it sets anything up.
        .plugin(single_instance::plugin(&context.config().identifier))
        .manage(window_state::WindowState::default())
        .manage(terminal::TerminalSessions::default())
        .manage(stats::StatsStreams::default())
        .manage(usage::UsageSampler::default())
        .manage(AppState {
            engine: engine.clone(),
            autostart,
            starting: Default::default(),
            logs: Default::default(),
        })
        .setup(move |app| {
            window_state::restore(app, "main");
            tray::install(app.handle());
            usage::spawn(app.handle().clone(), engine.clone());
            events::spawn_forwarders(app.handle().clone(), engine);
            Ok(())
        })
        .on_window_event(|window, event| {
            window_state::on_window_event(window, event);
            tray::on_window_event(window, event);
        })
        .invoke_handler(tauri::generate_handler![
            launch::app_first_paint,
            login_item::login_item_get,
            login_item::login_item_set,
            commands::app_autostart,
            commands::machine_status,
            commands::machine_start,
            commands::machine_stop,
            commands::machine_restart,
            usage::machine_usage,
            commands::containers_list,
            commands::container_action,
            commands::container_run,
            commands::logs_follow,
            commands::logs_stop,
            commands::container_inspect,
            stats::stats_follow,
            stats::stats_stop,
            stats::containers_stats,
            terminal::terminal_open,
            terminal::terminal_input,
            terminal::terminal_resize,
            terminal::terminal_close,
            downloads::save_download,
            commands::images_list,
            commands::image_remove,
            commands::image_pull,
            push::image_push,
            commands::image_exposed_ports,
            commands::image_history,
            commands::images_prune,
            commands::volumes_list,
            commands::volumes_usage,
            commands::volume_create,
            commands::volume_remove,
            commands::open_url,
            hub_address::hub_address_get,
            hub_address::hub_address_set,
            registry::hub_search,
            registry::hub_tags,
            registry::machine_platform,
            registry::registries_list,
            registry::registry_catalog,
            registry::registry_tags,
            registry::registry_login,
            registry::registry_logout,
            known_registries::known_registry_add,
            known_registries::known_registry_remove,
            registry::layers_local,
            registry::layers_remote,
            quickrun::quick_run,
            settings::settings_get,
            settings::settings_set,
            settings::docker_context_get,
            settings::docker_context_set,
            troubleshoot::doctor_run,
            troubleshoot::machine_log_tail,
            troubleshoot::machine_reset,
            troubleshoot::machine_checks,
        ])
        .run(context);
    if let Err(e) = result {
        eprintln!("berth-app: {e}");
        std::process::exit(1);
    }
}
