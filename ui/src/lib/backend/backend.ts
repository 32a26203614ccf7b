// The one interface between the UI and whatever runs the machine. `tauri.ts` implements it over Tauri
// commands and events (the app); `mock.ts` implements it in memory (browser dev and tests).
// The shapes mirror berth-api's `Status` and berth-engine's docker types (serde, snake_case).

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

export interface RunRequest {
  image: string;
  name: string | null;
  ports: PortRequest[];
  env: string[];
  command: string[] | null;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
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

  listContainers(): Promise<Container[]>;
  containerAction(id: string, action: ContainerAction): Promise<void>;
  /** Streams the last `tail` lines and then new ones as `LogEvent`s; returns the stream id. */
  followLogs(id: string, tail: number): Promise<number>;
  stopLogs(streamId: number): Promise<void>;

  listImages(): Promise<Image[]>;
  removeImage(id: string): Promise<void>;
  /** Pulls and resolves when done; progress arrives through `onPullProgress`. */
  pullImage(reference: string): Promise<void>;
  exposedPorts(image: string): Promise<string[]>;
  runContainer(req: RunRequest): Promise<string>;

  listVolumes(): Promise<Volume[]>;
  createVolume(name: string): Promise<Volume>;
  removeVolume(name: string): Promise<void>;

  /** Opens an http://127.0.0.1 or http://localhost URL in the user's browser. */
  openUrl(url: string): Promise<void>;

  onMachineEvent(cb: (ev: MachineEvent) => void): Unsubscribe;
  onDockerChange(cb: (ch: DockerChange) => void): Unsubscribe;
  onPullProgress(cb: (p: PullProgress) => void): Unsubscribe;
  onLogEvent(cb: (ev: LogEvent) => void): Unsubscribe;
}
