// The only file that calls Tauri's invoke/listen. Command and event names match src-tauri/src/commands.rs
// and src-tauri/src/events.rs.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

import {
  BackendError,
  type Backend,
  type DockerChange,
  type LogEvent,
  type MachineEvent,
  type MachineUsage,
  type PullProgress,
  type QuickRunEvent,
  type StatsEvent,
  type TerminalEnded,
  type TerminalOutput,
  type Unsubscribe,
} from './backend';

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw BackendError.from(e);
  }
}

function subscribe<T>(event: string, cb: (payload: T) => void): Unsubscribe {
  let unlisten: UnlistenFn | null = null;
  let cancelled = false;
  void listen<T>(event, (e) => cb(e.payload)).then((fn) => {
    if (cancelled) fn();
    else unlisten = fn;
  });
  return () => {
    cancelled = true;
    unlisten?.();
  };
}

export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export const tauriBackend: Backend = {
  autostart: () => call('app_autostart'),
  machineStatus: () => call('machine_status'),
  machineStart: () => call('machine_start'),
  machineStop: () => call('machine_stop'),
  machineRestart: () => call('machine_restart'),
  machineUsage: () => call('machine_usage'),

  listContainers: () => call('containers_list'),
  containerAction: (id, action) => call('container_action', { id, action }),
  followLogs: (id, tail) => call('logs_follow', { id, tail }),
  stopLogs: (streamId) => call('logs_stop', { streamId }),
  inspectContainer: (id) => call('container_inspect', { id }),
  followStats: (id) => call('stats_follow', { id }),
  stopStats: (streamId) => call('stats_stop', { streamId }),
  containersStats: () => call('containers_stats'),
  terminalOpen: (id, cols, rows) => call('terminal_open', { id, cols, rows }),
  terminalInput: (sessionId, data) => call('terminal_input', { sessionId, data }),
  terminalResize: (sessionId, cols, rows) => call('terminal_resize', { sessionId, cols, rows }),
  terminalClose: (sessionId) => call('terminal_close', { sessionId }),
  saveDownload: (fileName, contents) => call('save_download', { fileName, contents }),

  listImages: () => call('images_list'),
  removeImage: (id) => call('image_remove', { id }),
  imageHistory: (id) => call('image_history', { id }),
  pruneImages: (all) => call('images_prune', { all }),
  pullImage: (reference) => call('image_pull', { reference }),
  pushImage: (source, target) => call('image_push', { source, target }),
  exposedPorts: (image) => call('image_exposed_ports', { image }),
  runContainer: (req) => call('container_run', { req }),

  listVolumes: () => call('volumes_list'),
  volumesUsage: () => call('volumes_usage'),
  createVolume: (name) => call('volume_create', { name }),
  removeVolume: (name) => call('volume_remove', { name }),

  hubSearch: (query, limit, page = 1) => call('hub_search', { query, limit, page }),
  hubTags: (repository, limit, page = 1) => call('hub_tags', { repository, limit, page }),
  hubAddress: () => call('hub_address_get'),
  setHubAddress: (url) => call('hub_address_set', { url }),
  machinePlatform: () => call('machine_platform'),
  registries: () => call('registries_list'),
  registryCatalog: (registry) => call('registry_catalog', { registry }),
  registryTags: (repository) => call('registry_tags', { repository }),
  registryLogin: (registry, username, password) => call('registry_login', { registry, username, password }),
  registryLogout: (registry) => call('registry_logout', { registry }),
  addKnownRegistry: (registry) => call('known_registry_add', { registry }),
  removeKnownRegistry: (registry) => call('known_registry_remove', { registry }),
  exploreLocalLayers: (image) => call('layers_local', { image }),
  exploreRemoteLayers: (reference, platform) => call('layers_remote', { reference, platform }),
  quickRun: (runId, reference, opts) => call('quick_run', { runId, reference, opts }),

  openUrl: (url) => call('open_url', { url }),

  getSettings: () => call('settings_get'),
  saveSettings: (config) => call('settings_set', { config }),
  dockerContext: () => call('docker_context_get'),
  setDockerContext: (useBerth) => call('docker_context_set', { useBerth }),
  doctor: () => call('doctor_run'),
  machineLog: (kind, lines) => call('machine_log_tail', { kind, lines }),
  machineReset: () => call('machine_reset'),
  machineChecks: () => call('machine_checks'),
  loginItem: () => call('login_item_get'),
  setLoginItem: (enabled) => call('login_item_set', { enabled }),
  firstPaint: () => call('app_first_paint'),

  onMachineEvent: (cb) => subscribe<MachineEvent>('machine-event', cb),
  onMachineUsage: (cb) => subscribe<MachineUsage | null>('machine-usage', cb),
  onDockerChange: (cb) => subscribe<DockerChange>('docker-change', cb),
  onPullProgress: (cb) => subscribe<PullProgress>('pull-progress', cb),
  onPushProgress: (cb) => subscribe<PullProgress>('push-progress', cb),
  onLogEvent: (cb) => subscribe<LogEvent>('container-log', cb),
  onStatsEvent: (cb) => subscribe<StatsEvent>('container-stats', cb),
  onTerminalOutput: (cb) => subscribe<TerminalOutput>('terminal-output', cb),
  onTerminalEnded: (cb) => subscribe<TerminalEnded>('terminal-ended', cb),
  onQuickRunEvent: (cb) => subscribe<QuickRunEvent>('quick-run', cb),
};
