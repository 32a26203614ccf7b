// The one interface between the UI and whatever runs the machine. `tauri.ts` implements it over Tauri
// commands and events (the app); `mock.ts` implements it in memory (browser dev and tests).
// The shapes mirror berth-api's `Status` and berth-engine's docker types (serde, snake_case); the
// registry half's types are in backend-registry.ts.
import type {
  HubAddress,
  LayerReport,
  LoginResult,
  PushReport,
  QuickRun,
  QuickRunEvent,
  QuickRunOptions,
  RegistriesView,
  SearchPage,
  TagPage,
} from './backend-registry';
export type * from './backend-registry';

export type MachineState = 'stopped' | 'starting' | 'running' | 'stopping' | 'error';
export type BackendKind = 'qemu-kvm' | 'qemu-tcg' | 'berth-vmm';

export interface ForwardedPort {
  transport: string;
  port: number;
  containers: string[];
  state: 'forwarding' | 'failed';
  error: string | null;
}

export interface MachineStatus {
  name: string;
  state: MachineState;
  detail: string | null;
  error: string | null;
  backend: { kind: BackendKind; reason: string } | null;
  docker_host: string;
  versions: {
    berth: string;
    agent: string | null;
    kernel: string | null;
    docker: string | null;
    image: string | null;
  };
  cpus: number;
  memory_mib: number;
  disk_gib: number;
  uptime_s: number | null;
  pid: number | null;
  restarts: number;
  last_crash: string | null;
  ports: ForwardedPort[];
}

export interface PortMapping {
  container_port: number;
  protocol: string;
  host_port: number | null;
}

export interface Container {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  created: number;
  ports: PortMapping[];
  compose_project: string | null;
  compose_service: string | null;
  /** Runs an image built for another architecture (label `dev.berth.emulated=true`). */
  emulated?: boolean;
}

export interface Image {
  id: string;
  tags: string[];
  size: number;
  created: number;
  used_by: string[];
}

export interface Volume {
  name: string;
  driver: string;
  mountpoint: string;
  created_at: string | null;
  used_by: string[];
}

/** A volume's disk use from `docker system df` (berth-engine's `VolumeUsage`). */
export interface VolumeUsage {
  name: string;
  /** Bytes; null when Docker cannot tell. */
  size: number | null;
  /** Containers referencing it, as Docker counts them; null when unknown. */
  ref_count: number | null;
}

/** One layer of an image, newest first (berth-engine's `ImageLayer`). */
export interface ImageLayer {
  /** Null for layers built elsewhere (`<missing>` in `docker history`). */
  id: string | null;
  /** Unix seconds (0 when unknown). */
  created: number;
  /** The Dockerfile step (`RUN apk add curl`). */
  instruction: string;
  /** Docker's full `CreatedBy`. */
  created_by: string;
  size: number;
  tags: string[];
  comment: string;
}

/** What pruning images removed (berth-engine's `PruneReport`). */
export interface PruneReport {
  images_deleted: number;
  untagged: number;
  space_reclaimed: number;
}

export interface PullProgress {
  reference: string;
  layer: string | null;
  status: string;
  current: number | null;
  total: number | null;
}

export interface PortRequest {
  container_port: number;
  protocol: string;
  host_port: number;
}

/** `-v source:target[:ro]`: a volume name, or an absolute path on the machine (not the user's computer). */
export interface VolumeMount {
  source: string;
  target: string;
  read_only: boolean;
}

export interface RunRequest {
  image: string;
  name: string | null;
  ports: PortRequest[];
  env: string[];
  command: string[] | null;
  /** Optional: older callers send none. */
  volumes?: VolumeMount[];
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** When Docker received it (RFC 3339), if known. */
  time?: string | null;
}

export type ContainerAction = 'start' | 'stop' | 'restart' | 'remove';

/** Machine events: a new status, or a line of progress (boot phases, crashes, forwards). */
export type MachineEvent = { type: 'status'; status: MachineStatus } | { type: 'log'; message: string };

/** Docker changed something of this kind; lists of it are stale. */
export interface DockerChange {
  kind: 'container' | 'image' | 'volume' | 'network';
  action: string;
}

export interface LogEvent {
  stream_id: number;
  lines: LogLine[];
  /** Set on the last event of a stream: why it ended (null when the container stopped). */
  ended?: boolean;
  error?: string | null;
}

/** A container in detail (`docker inspect`), mirroring berth-engine's `ContainerDetail`. */
export interface ContainerDetail {
  id: string;
  name: string;
  image: string;
  image_id: string;
  state: string;
  exit_code: number | null;
  created: string | null;
  started_at: string | null;
  restart_count: number;
  /** Entrypoint and arguments as the process sees them. */
  command: string[];
  entrypoint: string[];
  cmd: string[];
  working_dir: string;
  user: string;
  /** `KEY=value`. */
  env: string[];
  mounts: { kind: string; name: string | null; source: string; destination: string; read_write: boolean }[];
  /** Exposed ports with the host addresses they are published on (`0.0.0.0:8080`). */
  ports: { container_port: number; protocol: string; published: string[] }[];
  labels: Record<string, string>;
  networks: { name: string; ip_address: string }[];
  /** Docker's whole answer. */
  raw: unknown;
}

/** One reading of a container's resource use (computed as `docker stats` does). */
export interface StatsSample {
  /** 100 is one CPU fully busy. */
  cpu_percent: number;
  online_cpus: number;
  memory_bytes: number;
  memory_limit: number;
  memory_percent: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
  pids: number | null;
}

/** One reading of the machine's resource use (berth-engine's `UsageReading`), from `machine-usage`. */
export interface MachineUsage {
  /** Since the previous reading, 0–100 of all the machine's CPUs; null for a first reading. */
  cpu_percent: number | null;
  cpus: number;
  /** Guest memory in use (without the reclaimable page cache), bytes. */
  memory_used_bytes: number;
  memory_total_bytes: number;
  /** The data disk; null when the guest could not measure it. */
  disk_used_bytes: number | null;
  disk_size_bytes: number | null;
  /** Resident memory of the VM process on this computer; null where unknown. */
  host_rss_bytes: number | null;
}

export interface StatsEvent {
  stream_id: number;
  sample: StatsSample | null;
  /** Set on the last event of a stream (the container stopped, or `error`). */
  ended: boolean;
  error: string | null;
}

export interface ContainerStats {
  id: string;
  sample: StatsSample;
}

export interface TerminalOutput {
  session_id: number;
  /** The bytes, base64 (UTF-8 may be split between events; xterm reassembles it). */
  data: string;
}

export interface TerminalEnded {
  session_id: number;
  exit_code: number | null;
  /** What to tell the user. */
  message: string;
  error: string | null;
}

/** A machine's settings (berth-api's `MachineConfig`). */
export interface MachineConfig {
  cpus: number;
  memory_mib: number;
  disk_gib: number;
  /** `host[:port]` registries dockerd reaches over plain HTTP. */
  insecure_registries: string[];
  /** http(s) URLs. */
  registry_mirrors: string[];
}

export interface Range {
  min: number;
  max: number;
}

/** The valid ranges (berth-api's) and the data disk's current size (it never shrinks below it). */
export interface SettingsLimits {
  cpus: Range;
  memory_mib: Range;
  disk_gib: Range;
  disk_now_gib: number;
}

export interface SettingsView {
  config: MachineConfig;
  limits: SettingsLimits;
}

/** Whether the docker CLI's current context is Berth's (berth-engine's `DockerContextState`). */
export interface DockerContextState {
  /** Whether the docker CLI is installed. */
  cli: boolean;
  current: string;
  uses_berth: boolean;
  /** Where switching off returns. */
  previous: string;
  /** DOCKER_HOST / DOCKER_CONTEXT in the app's environment, which override the current context. */
  overridden_by: string | null;
  config_file: string;
}

/** One doctor finding (berth-engine's `Finding`). */
export interface Finding {
  id: string;
  check: string;
  level: 'ok' | 'warn' | 'fail';
  message: string;
  fix: string | null;
}

export type MachineLogKind = 'daemon' | 'console' | 'agent' | 'hypervisor';

export interface MachineLogTail {
  kind: MachineLogKind;
  path: string;
  exists: boolean;
  lines: string[];
  truncated: boolean;
}

/** The quick checks (virtualization, disk) and what the first run suggests. */
export interface MachineChecks {
  checks: Finding[];
  /** The machine's folder: settings, disks, logs. */
  data_dir: string;
  /** Bytes the data disk (images, containers, volumes) takes now. */
  data_disk_used: number;
  /** The image "Run your first container" suggests (BERTH_FIRST_IMAGE in the app). */
  suggested_image: string;
}

export type Unsubscribe = () => void;

/** What the backend rejects with: what happened and what to do, ready to show. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly kind: string = 'error',
  ) {
    super(message);
    this.name = 'BackendError';
  }

  /** Anything thrown by a backend call, as something the UI can show. */
  static from(e: unknown): BackendError {
    if (e instanceof BackendError) return e;
    if (e && typeof e === 'object' && 'message' in e) {
      const o = e as { message: unknown; kind?: unknown };
      return new BackendError(String(o.message), typeof o.kind === 'string' ? o.kind : 'error');
    }
    return new BackendError(String(e));
  }
}

export interface Backend {
  /** Whether the app should start a stopped machine when it opens. */
  autostart(): Promise<boolean>;
  machineStatus(): Promise<MachineStatus>;
  /** Starts the machine and resolves once Docker is ready (or rejects with why it failed). */
  machineStart(): Promise<MachineStatus>;
  machineStop(): Promise<MachineStatus>;
  machineRestart(): Promise<MachineStatus>;
  /** The latest usage reading (null while the machine does not run); then `onMachineUsage` every 2 s. */
  machineUsage(): Promise<MachineUsage | null>;

  listContainers(): Promise<Container[]>;
  containerAction(id: string, action: ContainerAction): Promise<void>;
  /** Streams the last `tail` lines and then new ones as `LogEvent`s; returns the stream id. */
  followLogs(id: string, tail: number): Promise<number>;
  stopLogs(streamId: number): Promise<void>;
  inspectContainer(id: string): Promise<ContainerDetail>;
  /** Streams resource use as `StatsEvent`s (about one a second); returns the stream id. */
  followStats(id: string): Promise<number>;
  stopStats(streamId: number): Promise<void>;
  /** One reading of every running container (takes about a second). */
  containersStats(): Promise<ContainerStats[]>;
  /** Opens a shell in a running container on a TTY; output arrives as `TerminalOutput`s. */
  terminalOpen(id: string, cols: number, rows: number): Promise<number>;
  terminalInput(sessionId: number, data: string): Promise<void>;
  terminalResize(sessionId: number, cols: number, rows: number): Promise<void>;
  /** Ends the session (hangs up its shell). */
  terminalClose(sessionId: number): Promise<void>;
  /** Saves text to the user's Downloads folder; resolves with where it went. */
  saveDownload(fileName: string, contents: string): Promise<string>;

  listImages(): Promise<Image[]>;
  removeImage(id: string): Promise<void>;
  /** The layers an image was built from, newest first. */
  imageHistory(id: string): Promise<ImageLayer[]>;
  /** Removes dangling images, or with `all` every image no container uses. */
  pruneImages(all: boolean): Promise<PruneReport>;
  /** Pulls and resolves when done; progress arrives through `onPullProgress`. */
  pullImage(reference: string): Promise<void>;
  /**
   * Names `source` (an image id or name) `target` (`registry/name:tag`) and pushes it with the registry's
   * stored login; progress arrives through `onPushProgress` (with `reference` = `target`).
   */
  pushImage(source: string, target: string): Promise<PushReport>;
  exposedPorts(image: string): Promise<string[]>;
  runContainer(req: RunRequest): Promise<string>;

  listVolumes(): Promise<Volume[]>;
  /** Every volume's size, in one call (Docker walks the files: call it when sizes are shown). */
  volumesUsage(): Promise<VolumeUsage[]>;
  createVolume(name: string): Promise<Volume>;
  removeVolume(name: string): Promise<void>;

  /** Page `page` (from 1; default 1) of a Docker Hub search, `limit` (1–100) per page; the address is `hubAddress`. */
  hubSearch(query: string, limit: number, page?: number): Promise<SearchPage>;
  /** Page `page` (from 1; default 1) of a Hub repository's tags, newest first. */
  hubTags(repository: string, limit: number, page?: number): Promise<TagPage>;
  hubAddress(): Promise<HubAddress>;
  /** Saves the Docker Hub address (empty: the default); rejects with why an address is not valid. */
  setHubAddress(url: string): Promise<HubAddress>;
  /** The machine's platform (`linux/amd64`); rejects while the machine is stopped. */
  machinePlatform(): Promise<string>;
  /** The registries in the machine's settings and those with stored credentials. */
  registries(): Promise<RegistriesView>;
  /** A registry's repositories (`/v2/_catalog`). */
  registryCatalog(registry: string): Promise<string[]>;
  /** A repository's tags on its registry (`host:port/name`). */
  registryTags(repository: string): Promise<string[]>;
  /** Checks the password against the registry, then stores it in the OS keyring (never in the UI). */
  registryLogin(registry: string, username: string, password: string): Promise<LoginResult>;
  /** Forgets the credentials; whether there were any. */
  registryLogout(registry: string): Promise<boolean>;
  /** Remembers a registry reached over HTTPS so `registries` lists it; rejects an address the engine cannot read. Resolves with all remembered. */
  addKnownRegistry(registry: string): Promise<string[]>;
  /** Forgets a registry added with `addKnownRegistry`; resolves with those still remembered. */
  removeKnownRegistry(registry: string): Promise<string[]>;
  /** The layer explorer for an image in the machine's Docker. */
  exploreLocalLayers(image: string): Promise<LayerReport>;
  /** The layer explorer for an image on a registry (nothing is pulled); `platform` null: the machine's. */
  exploreRemoteLayers(reference: string, platform: string | null): Promise<LayerReport>;
  /** Pull → publish EXPOSEd ports on free ports → start; steps arrive as `QuickRunEvent`s with `runId`. */
  quickRun(runId: number, reference: string, opts: QuickRunOptions): Promise<QuickRun>;

  /** Opens an http://127.0.0.1 or http://localhost URL in the user's browser. */
  openUrl(url: string): Promise<void>;

  /** The saved settings with their valid ranges. */
  getSettings(): Promise<SettingsView>;
  /** Validates and saves settings (rejects with the range that was broken); they apply at the next (re)start. */
  saveSettings(config: MachineConfig): Promise<MachineConfig>;
  dockerContext(): Promise<DockerContextState>;
  /** Makes `berth` the docker CLI's current context, or returns to the previous one. */
  setDockerContext(useBerth: boolean): Promise<DockerContextState>;
  /** Every `berth doctor` check. */
  doctor(): Promise<Finding[]>;
  /** The last `lines` lines of one of the machine's logs. */
  machineLog(kind: MachineLogKind, lines: number): Promise<MachineLogTail>;
  /** Stops the machine and deletes its data disk and logs; settings are kept. */
  machineReset(): Promise<MachineStatus>;
  machineChecks(): Promise<MachineChecks>;
  /** Whether Berth starts when the user logs in. */
  loginItem(): Promise<boolean>;
  /** Turns starting at login on or off; resolves with the new setting. */
  setLoginItem(enabled: boolean): Promise<boolean>;
  /** The window painted its first frame (for the launch benchmark; only the first call counts). */
  firstPaint(): Promise<void>;

  onMachineEvent(cb: (ev: MachineEvent) => void): Unsubscribe;
  /** A usage reading every 2 s while the machine runs and the window shows; null once it stopped. */
  onMachineUsage(cb: (u: MachineUsage | null) => void): Unsubscribe;
  onDockerChange(cb: (ch: DockerChange) => void): Unsubscribe;
  onPullProgress(cb: (p: PullProgress) => void): Unsubscribe;
  /** Push progress lines, the same shape as a pull's. */
  onPushProgress(cb: (p: PullProgress) => void): Unsubscribe;
  onLogEvent(cb: (ev: LogEvent) => void): Unsubscribe;
  onStatsEvent(cb: (ev: StatsEvent) => void): Unsubscribe;
  onTerminalOutput(cb: (ev: TerminalOutput) => void): Unsubscribe;
  onTerminalEnded(cb: (ev: TerminalEnded) => void): Unsubscribe;
  onQuickRunEvent(cb: (ev: QuickRunEvent) => void): Unsubscribe;
}
