// An in-memory machine with the same rules as the real one (a stopped machine has no Docker, images
// and volumes in use cannot be removed), for `npm run dev` in a browser and for tests.
import {
  BackendError,
  type Backend,
  type Container,
  type DockerChange,
  type Image,
  type LogEvent,
  type MachineEvent,
  type MachineStatus,
  type PullProgress,
  type RunRequest,
  type Unsubscribe,
  type Volume,
} from './backend';
import type { ContainerDetail, ContainerStats, StatsEvent, TerminalEnded, TerminalOutput } from './backend';
import { fakeStats, MockShell, utf8Base64 } from './mock-shell';
import type { ImageLayer, MachineConfig, MachineLogKind, PruneReport, VolumeUsage } from './backend';
import { MockAdmin } from './mock-admin';
import { MockUsage } from './mock-usage';
import { MockRegistry } from './mock-registry';
import type { QuickRunEvent, QuickRunOptions } from './backend';
import type { MachineUsage } from './backend';

type Listener<T> = Set<(v: T) => void>;

export interface MockOptions {
  /** Initial machine state. */
  state?: MachineStatus['state'];
  /** Milliseconds each simulated step takes (0 in tests). */
  delay?: number;
  /** Make the next machine start fail with this message. */
  startError?: string;
  /** Whether the app starts a stopped machine when it opens (default false). */
  autostart?: boolean;
}

export function stoppedStatus(): MachineStatus {
  return {
    name: 'default',
    state: 'stopped',
    detail: null,
    error: null,
    backend: null,
    docker_host: 'unix:///tmp/berth/default/docker.sock',
    versions: { berth: '0.1.0', agent: null, kernel: null, docker: null, image: null },
    cpus: 2,
    memory_mib: 2048,
    disk_gib: 64,
    uptime_s: null,
    pid: null,
    restarts: 0,
    last_crash: null,
    ports: [],
  };
}

export function runningStatus(): MachineStatus {
  return {
    ...stoppedStatus(),
    state: 'running',
    backend: { kind: 'qemu-tcg', reason: '/dev/kvm cannot boot Linux here; emulating the CPU (slower)' },
    versions: { berth: '0.1.0', agent: '0.1.0', kernel: '6.1.0', docker: '26.1.5', image: 'abc123' },
    uptime_s: 12,
    pid: 4242,
  };
}

export class MockBackend implements Backend {
  status: MachineStatus;
  containers: Container[] = [];
  images: Image[] = [];
  volumes: Volume[] = [];
  /** Exposed ports by image reference. */
  exposed: Record<string, string[]> = {};
  /** Layers by image id (a plausible three-layer history when absent). */
  history: Record<string, ImageLayer[]> = {};
  /** Volume sizes in bytes by name (absent: 0; null: Docker cannot tell). */
  volumeSizes: Record<string, number | null> = {};
  /** The last run request, as the backend got it. */
  lastRun: RunRequest | null = null;
  logs: Record<string, string[]> = {};
  opened: string[] = [];
  calls: string[] = [];
  private startError: string | undefined;
  private auto: boolean;
  private delay: number;
  private nextStream = 1;
  private machineL: Listener<MachineEvent> = new Set();
  private dockerL: Listener<DockerChange> = new Set();
  private pullL: Listener<PullProgress> = new Set();
  private logL: Listener<LogEvent> = new Set();
  private statsL: Listener<StatsEvent> = new Set();
  private termOutL: Listener<TerminalOutput> = new Set();
  private termEndL: Listener<TerminalEnded> = new Set();
  /** Resource-use readings (see mock-usage.ts). */
  usageFeed = new MockUsage();
  private statsTimers = new Map<number, ReturnType<typeof setInterval>>();
  /** Open terminal sessions: their container, pretend shell and size. */
  terminals = new Map<number, { id: string; shell: MockShell; cols: number; rows: number }>();
  /** Everything typed into terminals, in order. */
  typed: string[] = [];
  /** Files "saved" to Downloads. */
  downloads: { name: string; contents: string }[] = [];

  constructor(opts: MockOptions = {}) {
    this.status = opts.state === 'running' ? runningStatus() : { ...stoppedStatus(), state: opts.state ?? 'stopped' };
    this.delay = opts.delay ?? 0;
    this.startError = opts.startError;
    this.auto = opts.autostart ?? false;
  }

  /** A populated machine for browser dev. */
  static demo(delay = 400): MockBackend {
    const b = new MockBackend({ state: 'stopped', delay, autostart: true });
    b.images = [
      { id: 'sha256:1111', tags: ['registry.local/web:1.0'], size: 12_400_000, created: 1_700_000_000, used_by: ['shop-web-1'] },
      { id: 'sha256:2222', tags: ['busybox:latest'], size: 2_100_000, created: 1_690_000_000, used_by: [] },
    ];
    b.exposed = { 'registry.local/web:1.0': ['80/tcp'], 'busybox:latest': [] };
    b.containers = [
      {
        id: 'c1', name: 'shop-web-1', image: 'registry.local/web:1.0', state: 'running', status: 'Up 3 minutes',
        created: 1_700_000_100, ports: [{ container_port: 80, protocol: 'tcp', host_port: 8080 }],
        compose_project: 'shop', compose_service: 'web',
      },
    ];
    b.volumes = [{ name: 'shop_data', driver: 'local', mountpoint: '/var/lib/docker/volumes/shop_data/_data', created_at: null, used_by: [] }];
    b.volumeSizes = { shop_data: 73_400_000 };
    b.logs = { c1: ['listening on :80', 'GET / 200'] };
    return b;
  }

  private async step() {
    this.calls.push('step');
    await new Promise((r) => setTimeout(r, this.delay));
  }

  private setStatus(s: MachineStatus) {
    this.status = s;
    this.usageFeed.machine(s.state === 'running', this.delay > 0 ? 2000 : 0);
    for (const cb of this.machineL) cb({ type: 'status', status: s });
  }

  private changed(kind: DockerChange['kind'], action: string) {
    for (const cb of this.dockerL) cb({ kind, action });
  }

  private needDocker() {
    if (this.status.state !== 'running') throw new BackendError('the machine is not running; start it from Home', 'not_running');
  }

  private usage() {
    for (const i of this.images) i.used_by = this.containers.filter((c) => i.tags.includes(c.image) || c.image === i.id).map((c) => c.name);
  }

  async autostart() {
    return this.auto;
  }

  async machineStatus() {
    return structuredClone(this.status);
  }

  async machineStart() {
    this.calls.push('machineStart');
    if (this.status.state === 'running') return this.status;
    this.setStatus({ ...stoppedStatus(), state: 'starting', detail: 'booting the guest' });
    await this.step();
    if (this.startError) {
      const error = this.startError;
      this.startError = undefined;
      this.setStatus({ ...stoppedStatus(), state: 'error', error });
      throw new BackendError(error, 'machine');
    }
    this.setStatus(runningStatus());
    return this.status;
  }

  async machineStop() {
    this.calls.push('machineStop');
    this.setStatus({ ...this.status, state: 'stopping' });
    await this.step();
    this.setStatus(stoppedStatus());
    return this.status;
  }

  async machineRestart() {
    this.calls.push('machineRestart');
    await this.machineStop();
    return this.machineStart();
  }

  async machineUsage() {
    return this.usageFeed.latest(this.status.state === 'running');
  }

  async listContainers() {
    this.needDocker();
    return structuredClone(this.containers);
  }

  async containerAction(id: string, action: 'start' | 'stop' | 'restart' | 'remove') {
    this.needDocker();
    this.calls.push(`${action}:${id}`);
    const c = this.containers.find((c) => c.id === id);
    if (!c) throw new BackendError(`No such container: ${id}`);
    if (action === 'remove') this.containers = this.containers.filter((x) => x.id !== id);
    else c.state = action === 'stop' ? 'exited' : 'running';
    this.usage();
    this.changed('container', action === 'remove' ? 'destroy' : action);
  }

  async followLogs(id: string, _tail: number) {
    this.needDocker();
    const stream_id = this.nextStream++;
    const lines = (this.logs[id] ?? []).map((text, i) => ({
      stream: 'stdout' as const,
      text,
      time: new Date(Date.UTC(2024, 4, 1, 10, 0, i)).toISOString(),
    }));
    setTimeout(() => {
      for (const cb of this.logL) cb({ stream_id, lines });
    }, 0);
    return stream_id;
  }

  async stopLogs(streamId: number) {
    this.calls.push(`stopLogs:${streamId}`);
  }

  private container(id: string): Container {
    this.needDocker();
    const c = this.containers.find((c) => c.id === id);
    if (!c) throw new BackendError(`Docker Engine: No such container: ${id}`, 'docker');
    return c;
  }

  async inspectContainer(id: string): Promise<ContainerDetail> {
    const c = this.container(id);
    const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello'];
    const labels: Record<string, string> = c.compose_project
      ? { 'com.docker.compose.project': c.compose_project, 'com.docker.compose.service': c.compose_service ?? '' }
      : {};
    const ports = c.ports.map((p) => ({
      container_port: p.container_port,
      protocol: p.protocol,
      published: p.host_port ? [`0.0.0.0:${p.host_port}`] : [],
    }));
    const mounts = this.volumes
      .filter((v) => v.used_by.includes(c.name))
      .map((v) => ({ kind: 'volume', name: v.name, source: v.mountpoint, destination: '/data', read_write: true }));
    const created = new Date(c.created * 1000).toISOString();
    return {
      id: c.id, name: c.name, image: c.image, image_id: 'sha256:1111', state: c.state, exit_code: 0, created,
      started_at: created, restart_count: 0, command: ['/bin/busybox', 'httpd', '-f'], entrypoint: [],
      cmd: ['/bin/busybox', 'httpd', '-f'], working_dir: '', user: '', env, mounts, ports, labels,
      networks: [{ name: 'bridge', ip_address: '172.17.0.2' }],
      raw: { Id: c.id, Name: `/${c.name}`, State: { Status: c.state }, Config: { Image: c.image, Env: env, Labels: labels } },
    };
  }

  async followStats(id: string) {
    const c = this.container(id);
    const stream_id = this.nextStream++;
    let n = 0;
    const tick = () => {
      if (c.state !== 'running') {
        this.stopTimer(stream_id);
        this.emitStats({ stream_id, sample: null, ended: true, error: null });
      } else this.emitStats({ stream_id, sample: fakeStats(n++), ended: false, error: null });
    };
    setTimeout(tick, 0);
    if (this.delay > 0) this.statsTimers.set(stream_id, setInterval(tick, 1000));
    return stream_id;
  }

  private stopTimer(streamId: number) {
    clearInterval(this.statsTimers.get(streamId));
    this.statsTimers.delete(streamId);
  }

  async stopStats(streamId: number) {
    this.calls.push(`stopStats:${streamId}`);
    this.stopTimer(streamId);
  }

  async containersStats(): Promise<ContainerStats[]> {
    this.needDocker();
    return this.containers.filter((c) => c.state === 'running').map((c, i) => ({ id: c.id, sample: fakeStats(i * 3 + 1) }));
  }

  async terminalOpen(id: string, cols: number, rows: number) {
    const c = this.container(id);
    if (c.state !== 'running') throw new BackendError(`${c.name} is not running; start it to open a terminal in it`, 'invalid');
    const session_id = this.nextStream++;
    const shell = new MockShell();
    this.terminals.set(session_id, { id, shell, cols, rows });
    this.calls.push(`terminalOpen:${id}:${cols}x${rows}`);
    setTimeout(() => this.emitTerminalOutput(session_id, shell.prompt), 0);
    return session_id;
  }

  async terminalInput(sessionId: number, data: string) {
    const t = this.terminals.get(sessionId);
    if (!t) throw new BackendError('this terminal has ended; open a new one', 'invalid');
    this.typed.push(data);
    const r = t.shell.input(data);
    if (r.output) this.emitTerminalOutput(sessionId, r.output);
    if (r.exit !== undefined) {
      this.terminals.delete(sessionId);
      const message = r.exit === 0 ? 'The shell exited.' : `The shell exited with code ${r.exit}.`;
      for (const cb of this.termEndL) cb({ session_id: sessionId, exit_code: r.exit, message, error: null });
    }
  }

  async terminalResize(sessionId: number, cols: number, rows: number) {
    const t = this.terminals.get(sessionId);
    if (!t) throw new BackendError('this terminal has ended; open a new one', 'invalid');
    Object.assign(t, { cols, rows });
    this.calls.push(`terminalResize:${sessionId}:${cols}x${rows}`);
  }

  async terminalClose(sessionId: number) {
    this.terminals.delete(sessionId);
    this.calls.push(`terminalClose:${sessionId}`);
  }

  async saveDownload(fileName: string, contents: string) {
    this.downloads.push({ name: fileName, contents });
    if (typeof window !== 'undefined' && !('process' in globalThis) && typeof URL.createObjectURL === 'function') {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([contents], { type: 'text/plain' }));
      a.download = fileName;
      a.click();
      URL.revokeObjectURL(a.href);
    }
    return `~/Downloads/${fileName}`;
  }

  async listImages() {
    this.needDocker();
    this.usage();
    return structuredClone(this.images);
  }

  /** By id: the image (refused, as Docker does, while it has several names); by name: that name, and the image with its last one. */
  async removeImage(id: string) {
    this.needDocker();
    this.usage();
    const img = this.images.find((i) => i.id === id || i.tags.includes(id));
    if (img?.used_by.length) throw new BackendError(`the image is used by ${img.used_by.join(', ')}; remove that container first`, 'invalid');
    if (img && img.id === id && img.tags.length > 1) {
      throw new BackendError(`Docker Engine: conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories`, 'docker');
    }
    const untag = !!img && img.tags.length > 1;
    if (untag) img.tags = img.tags.filter((t) => t !== id);
    else this.images = this.images.filter((i) => i !== img);
    this.changed('image', untag ? 'untag' : 'delete');
  }

  async imageHistory(id: string): Promise<ImageLayer[]> {
    this.needDocker();
    this.calls.push(`history:${id}`);
    const img = this.images.find((i) => i.id === id || i.tags.includes(id));
    if (!img) throw new BackendError(`Docker Engine: No such image: ${id}`, 'docker');
    if (this.history[img.id]) return structuredClone(this.history[img.id]);
    const layer = (l: Partial<ImageLayer>): ImageLayer => ({
      id: null, created: img.created, instruction: '', created_by: '', size: 0, tags: [], comment: 'buildkit.dockerfile.v0', ...l,
    });
    return [
      layer({ id: img.id, tags: img.tags, instruction: 'CMD ["/bin/sh"]', created_by: 'CMD ["/bin/sh"]' }),
      layer({
        instruction: 'RUN /bin/sh -c apk add --no-cache curl ca-certificates',
        created_by: 'RUN /bin/sh -c apk add --no-cache curl ca-certificates # buildkit',
        size: Math.round(img.size * 0.4),
      }),
      layer({
        instruction: 'ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit',
        created_by: 'ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit',
        size: img.size - Math.round(img.size * 0.4),
        comment: '',
      }),
    ];
  }

  async pruneImages(all: boolean): Promise<PruneReport> {
    this.needDocker();
    this.calls.push(`prune:${all ? 'all' : 'dangling'}`);
    this.usage();
    const gone = this.images.filter((i) => i.used_by.length === 0 && (all || i.tags.length === 0));
    this.images = this.images.filter((i) => !gone.includes(i));
    if (gone.length) this.changed('image', 'prune');
    return {
      images_deleted: gone.length,
      untagged: gone.reduce((n, i) => n + i.tags.length, 0),
      space_reclaimed: gone.reduce((n, i) => n + i.size, 0),
    };
  }

  async pullImage(reference: string) {
    this.needDocker();
    const ref = reference.includes(':') ? reference : `${reference}:latest`;
    for (const layer of ['aaa111', 'bbb222']) {
      for (const [status, current] of [['Downloading', 50], ['Download complete', 100], ['Pull complete', null]] as const) {
        for (const cb of this.pullL) cb({ reference, layer, status, current, total: current === null ? null : 100 });
        await this.step();
      }
    }
    for (const cb of this.pullL) cb({ reference, layer: null, status: `Status: Downloaded newer image for ${ref}`, current: null, total: null });
    if (!this.images.some((i) => i.tags.includes(ref))) {
      this.images.unshift({ id: `sha256:${ref.length}${Date.now()}`, tags: [ref], size: 2_000_000, created: Math.floor(Date.now() / 1000), used_by: [] });
    }
    this.changed('image', 'pull');
  }

  /** `docker tag`: `source` (an id or a name) also goes by `target`, which leaves any image that had it. */
  private tagImage(source: string, target: string) {
    const ref = target.includes(':', target.lastIndexOf('/') + 1) ? target : `${target}:latest`;
    const img = this.images.find((i) => i.id === source || i.tags.includes(source));
    if (!img) throw new BackendError(`Docker Engine: No such image: ${source}`, 'docker');
    if (img.tags.includes(ref)) return;
    for (const i of this.images) i.tags = i.tags.filter((t) => t !== ref);
    img.tags.push(ref);
    this.changed('image', 'tag');
  }

  async exposedPorts(image: string) {
    this.needDocker();
    return this.exposed[image] ?? [];
  }

  async runContainer(req: RunRequest & { labels?: Record<string, string> }) {
    this.needDocker();
    this.calls.push(`run:${req.image}`);
    this.lastRun = structuredClone(req);
    const id = `c${this.containers.length + 1}${Date.now()}`;
    const name = req.name || `mock_${this.containers.length + 1}`;
    for (const v of req.volumes ?? []) {
      if (!v.target.startsWith('/')) throw new BackendError(`the container path "${v.target}" must be absolute; start it with /`, 'invalid');
      if (!v.source.startsWith('/') && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v.source)) {
        throw new BackendError(`"${v.source}" is neither a volume name nor an absolute path`, 'invalid');
      }
    }
    if (this.containers.some((c) => c.name === name)) throw new BackendError(`Conflict. The container name "/${name}" is already in use`);
    for (const v of req.volumes ?? []) {
      if (v.source.startsWith('/')) continue;
      let vol = this.volumes.find((x) => x.name === v.source);
      if (!vol) {
        vol = { name: v.source, driver: 'local', mountpoint: `/var/lib/docker/volumes/${v.source}/_data`, created_at: new Date().toISOString(), used_by: [] };
        this.volumes.push(vol);
      }
      vol.used_by.push(name);
    }
    this.containers.unshift({
      id, name, image: req.image, state: 'running', status: 'Up 1 second', created: Math.floor(Date.now() / 1000),
      ports: req.ports.map((p) => ({ container_port: p.container_port, protocol: p.protocol, host_port: p.host_port })),
      compose_project: null, compose_service: null, emulated: req.labels?.['dev.berth.emulated'] === 'true',
    });
    this.usage();
    this.changed('container', 'start');
    return id;
  }

  async listVolumes() {
    this.needDocker();
    return structuredClone(this.volumes);
  }

  async volumesUsage(): Promise<VolumeUsage[]> {
    this.needDocker();
    this.calls.push('volumesUsage');
    return this.volumes.map((v) => ({
      name: v.name,
      size: v.name in this.volumeSizes ? this.volumeSizes[v.name] : 0,
      ref_count: v.used_by.length,
    }));
  }

  async createVolume(name: string) {
    this.needDocker();
    if (this.volumes.some((v) => v.name === name)) throw new BackendError(`volume ${name} already exists`);
    const v: Volume = { name, driver: 'local', mountpoint: `/var/lib/docker/volumes/${name}/_data`, created_at: new Date().toISOString(), used_by: [] };
    this.volumes.push(v);
    this.changed('volume', 'create');
    return v;
  }

  async removeVolume(name: string) {
    this.needDocker();
    const v = this.volumes.find((v) => v.name === name);
    if (v?.used_by.length) throw new BackendError(`the volume is used by ${v.used_by.join(', ')}; remove that container first`, 'invalid');
    this.volumes = this.volumes.filter((v) => v.name !== name);
    this.changed('volume', 'destroy');
  }

  /** Docker Hub, registries, logins, layers and one-click runs (see mock-registry.ts). */
  registry: MockRegistry = new MockRegistry({
    running: () => this.status.state === 'running',
    pullImage: (r) => this.pullImage(r),
    runContainer: (req) => this.runContainer(req),
    containerName: (id) => this.containers.find((c) => c.id === id)?.name ?? id,
    insecureRegistries: () => this.admin.settings.insecure_registries,
    mirrors: () => this.admin.settings.registry_mirrors,
    exposedOf: (r) => this.exposed[r] ?? this.exposed[r.replace(/:[^:/]+$/, '')],
    tagImage: (source, target) => this.tagImage(source, target),
    step: () => this.step(),
  });
  hubSearch = async (query: string, limit: number, page = 1) => (await this.step(), this.registry.search(query, limit, page));
  hubTags = async (repository: string, limit: number, page = 1) => (await this.step(), this.registry.hubTags(repository, limit, page));
  pushImage = (source: string, target: string) => this.registry.push(source, target);
  onPushProgress = (cb: (p: PullProgress) => void): Unsubscribe => this.registry.onPush(cb);
  hubAddress = async () => this.registry.hubAddress();
  setHubAddress = async (url: string) => this.registry.setHubAddress(url);
  machinePlatform = async () => this.registry.machinePlatform();
  registries = async () => this.registry.registries();
  registryCatalog = async (registry: string) => (await this.step(), this.registry.catalog(registry));
  registryTags = async (repository: string) => this.registry.registryTags(repository);
  registryLogin = async (registry: string, username: string, password: string) => (await this.step(), this.registry.login(registry, username, password));
  registryLogout = async (registry: string) => this.registry.logout(registry);
  addKnownRegistry = async (registry: string) => this.registry.addKnown(registry);
  removeKnownRegistry = async (registry: string) => this.registry.removeKnown(registry);
  exploreLocalLayers = async (image: string) => (await this.step(), this.registry.explore(image, 'local'));
  exploreRemoteLayers = async (reference: string, _platform: string | null) => (await this.step(), this.registry.explore(reference, 'remote'));
  quickRun = (runId: number, reference: string, opts: QuickRunOptions) => this.registry.quickRun(runId, reference, opts);
  onQuickRunEvent = (cb: (ev: QuickRunEvent) => void): Unsubscribe => this.registry.onQuickRun(cb);

  async openUrl(url: string) {
    this.opened.push(url);
    if (typeof window !== 'undefined' && !('process' in globalThis)) window.open(url, '_blank');
  }

  /** Settings, docker context, doctor, machine logs and checks (see mock-admin.ts). */
  admin = new MockAdmin();

  async getSettings() {
    return this.admin.view();
  }

  async saveSettings(config: MachineConfig) {
    this.calls.push('saveSettings');
    await this.step();
    const saved = this.admin.save(config);
    if (this.status.state === 'stopped') this.setStatus({ ...this.status, cpus: saved.cpus, memory_mib: saved.memory_mib, disk_gib: saved.disk_gib });
    return saved;
  }

  async dockerContext() {
    return this.admin.contextState();
  }

  async setDockerContext(useBerth: boolean) {
    this.calls.push(`setDockerContext:${useBerth}`);
    return this.admin.useBerth(useBerth);
  }

  async doctor() {
    await this.step();
    return this.admin.doctor(this.status);
  }

  async machineLog(kind: MachineLogKind, lines: number) {
    return this.admin.log(kind, lines);
  }

  async machineReset() {
    this.calls.push('machineReset');
    if (this.status.state !== 'stopped') await this.machineStop();
    this.containers = [];
    this.images = [];
    this.volumes = [];
    this.logs = {};
    this.admin.reset();
    return structuredClone(this.status);
  }

  async machineChecks() {
    return this.admin.checks(this.status);
  }

  /** Whether "start at login" is on; `loginItemError` makes the next change fail. */
  loginItemOn = false;
  loginItemError: string | null = null;

  async loginItem() {
    return this.loginItemOn;
  }

  async setLoginItem(enabled: boolean) {
    this.calls.push(`setLoginItem:${enabled}`);
    if (this.loginItemError) throw new BackendError(this.loginItemError, 'login_item');
    this.loginItemOn = enabled;
    return enabled;
  }

  async firstPaint() {
    this.calls.push('firstPaint');
  }

  onMachineEvent(cb: (ev: MachineEvent) => void): Unsubscribe {
    this.machineL.add(cb);
    return () => this.machineL.delete(cb);
  }
  onMachineUsage(cb: (u: MachineUsage | null) => void): Unsubscribe {
    return this.usageFeed.on(cb);
  }
  onDockerChange(cb: (ch: DockerChange) => void): Unsubscribe {
    this.dockerL.add(cb);
    return () => this.dockerL.delete(cb);
  }
  onPullProgress(cb: (p: PullProgress) => void): Unsubscribe {
    this.pullL.add(cb);
    return () => this.pullL.delete(cb);
  }
  onLogEvent(cb: (ev: LogEvent) => void): Unsubscribe {
    this.logL.add(cb);
    return () => this.logL.delete(cb);
  }
  onStatsEvent(cb: (ev: StatsEvent) => void): Unsubscribe {
    this.statsL.add(cb);
    return () => this.statsL.delete(cb);
  }
  onTerminalOutput(cb: (ev: TerminalOutput) => void): Unsubscribe {
    this.termOutL.add(cb);
    return () => this.termOutL.delete(cb);
  }
  onTerminalEnded(cb: (ev: TerminalEnded) => void): Unsubscribe {
    this.termEndL.add(cb);
    return () => this.termEndL.delete(cb);
  }

  /** Test helper: emit a stats event. */
  emitStats(ev: StatsEvent) {
    for (const cb of this.statsL) cb(ev);
  }
  /** Test helper: a terminal prints `text`. */
  emitTerminalOutput(sessionId: number, text: string) {
    for (const cb of this.termOutL) cb({ session_id: sessionId, data: utf8Base64(text) });
  }

  /** Test helper: emit a log event. */
  emitLog(ev: LogEvent) {
    for (const cb of this.logL) cb(ev);
  }
  /** Test helper: emit a machine event. */
  emitMachine(ev: MachineEvent) {
    if (ev.type === 'status') this.status = ev.status;
    for (const cb of this.machineL) cb(ev);
  }
  /** Test helper: emit a usage reading (or null: the machine stopped). */
  emitUsage(u: MachineUsage | null) {
    this.usageFeed.emit(u);
  }
  /** Test helper: emit a Docker change. */
  emitDocker(ch: DockerChange) {
    for (const cb of this.dockerL) cb(ch);
  }
}
