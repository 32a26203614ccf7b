// The in-memory Docker Hub, registries, logins, pushes, layer explorer and one-click runs, for MockBackend
// (browser dev and tests). Same rules as the engine: a wrong password stores nothing, a registry with
// accounts refuses pushes until logged in to, an image for another architecture needs confirming, a
// one-click run pulls, publishes each EXPOSEd port on a free port and starts the container. Hub search
// and tags are paged as Hub pages them. Registries added on the Registries screen are remembered (the app's
// preferences file) once each, whatever their case.
import { registryAddress, registryAddressError } from '../known-registries';
import {
  BackendError,
  type FileChange,
  type HubAddress,
  type HubRepo,
  type HubTag,
  type LayerReport,
  type PortRequest,
  type PullProgress,
  type PushReport,
  type QuickRun,
  type QuickRunEvent,
  type QuickRunOptions,
  type RegistriesView,
  type RunRequest,
  type SearchPage,
  type TagPage,
  type Unsubscribe,
} from './backend';

export const DEFAULT_HUB = 'https://hub.docker.com';

/** What MockRegistry needs of the machine. */
export interface MockMachine {
  running(): boolean;
  pullImage(reference: string): Promise<void>;
  runContainer(req: RunRequest & { labels?: Record<string, string> }): Promise<string>;
  containerName(id: string): string;
  insecureRegistries(): string[];
  mirrors(): string[];
  /** The image's EXPOSEd ports, when known. */
  exposedOf(reference: string): string[] | undefined;
  /** Gives an image (id or name) another name; throws when there is no such image. */
  tagImage(source: string, target: string): void;
  /** One simulated step of work. */
  step(): Promise<void>;
}

/** `host:5000/team/app:1` → registry `host:5000`, repository `team/app`, tag `1` (as Docker reads names). */
export function splitTarget(reference: string): { registry: string; repository: string; tag: string } {
  const slash = reference.indexOf('/');
  const first = slash < 0 ? '' : reference.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasRegistry ? first : 'docker.io';
  let rest = hasRegistry ? reference.slice(slash + 1) : reference;
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : 'latest';
  if (colon > rest.lastIndexOf('/')) rest = rest.slice(0, colon);
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  return { registry, repository: rest, tag };
}

const repo = (name: string, description: string, stars: number, pulls: number, extra: Partial<HubRepo> = {}): HubRepo => ({
  name, namespace: name.includes('/') ? name.split('/')[0] : 'library', description, stars, pulls,
  official: !name.includes('/'), verified_publisher: false, automated: false, ...extra,
});

const img = (os: string, architecture: string, size: number, variant: string | null = null) => ({ os, architecture, variant, size, digest: null });

/** A layer report with `files` files under a few directories, some overwritten and deleted later. */
export function demoReport(image: string, files = 1200): LayerReport {
  const base: FileChange[] = [{ path: 'usr', change: 'added', kind: 'dir', size: 0 }];
  for (let i = 0; i < files; i++) {
    base.push({ path: `usr/lib/pkg${i % 40}/file${i}.so`, change: 'added', kind: 'file', size: 1000 + ((i * 7919) % 50_000) });
  }
  base.push({ path: 'etc/os-release', change: 'added', kind: 'file', size: 400 });
  base.push({ path: 'bin/sh', change: 'added', kind: 'symlink', size: 0, link: '/bin/busybox' });
  const apk: FileChange[] = [
    { path: 'var/cache/apk/APKINDEX.tar.gz', change: 'added', kind: 'file', size: 2_400_000 },
    { path: 'usr/lib/pkg1/file1.so', change: 'changed', kind: 'file', size: 9000 },
  ];
  const clean: FileChange[] = [{ path: 'var/cache/apk', change: 'deleted', kind: 'dir', size: 2_400_000 }];
  const sum = (l: FileChange[]) => l.filter((f) => f.change !== 'deleted').reduce((n, f) => n + f.size, 0);
  const layer = (files: FileChange[], instruction: string, wasted: number, compressed: number) => ({
    digest: `sha256:${instruction.length.toString(16).padStart(64, 'a')}`, compressed_size: compressed, size: sum(files),
    tar_size: sum(files) + files.length * 512, created_by: `/bin/sh -c ${instruction}`, instruction, wasted, files,
  });
  const layers = [
    layer(base, 'ADD alpine-minirootfs.tar.gz /', 0, 3_400_000),
    layer(apk, 'RUN apk add --no-cache curl', 8000, 900_000),
    layer(clean, 'RUN rm -rf /var/cache/apk', 2_400_000, 100),
  ];
  const size = layers.reduce((n, l) => n + l.size, 0);
  return {
    image, digest: null, platform: 'linux/amd64', layers, size, compressed_size: 4_300_100, wasted: 2_408_000,
    wasted_paths: [{ path: 'var/cache/apk/APKINDEX.tar.gz', bytes: 2_400_000 }, { path: 'usr/lib/pkg1/file1.so', bytes: 8000 }],
  };
}

export class MockRegistry {
  repos: HubRepo[] = [
    repo('nginx', 'Official build of Nginx.', 20512, 1_000_000_000),
    repo('bitnami/nginx', 'Bitnami container image for NGINX', 193, 500_000_000, { verified_publisher: true }),
    repo('someone/nginx-arm', 'nginx for Raspberry Pi', 3, 1234),
    repo('busybox', 'Busybox base image.', 3300, 8_000_000_000),
  ];
  tags: Record<string, HubTag[]> = {
    nginx: [
      { name: '1.27-alpine', size: 20_500_000, last_updated: '2025-05-01T10:00:00Z', digest: null, images: [img('linux', 'amd64', 20_500_000), img('linux', 'arm64', 19_800_000, 'v8')] },
      { name: 'latest', size: 70_000_000, last_updated: '2025-04-20T10:00:00Z', digest: null, images: [img('linux', 'amd64', 70_000_000)] },
    ],
    'someone/nginx-arm': [{ name: 'latest', size: 18_000_000, last_updated: '2023-01-02T00:00:00Z', digest: null, images: [img('linux', 'arm', 18_000_000, 'v7')] }],
  };
  /** Repositories (and their tags) of registries on the test network. */
  catalogs: Record<string, Record<string, string[]>> = { 'host.docker.internal:5000': { 'berth-app-web': ['1', '2'], tools: ['latest'] } };
  /** Users and passwords each registry accepts. */
  accounts: Record<string, Record<string, string>> = { 'host.docker.internal:5000': { ann: 's3cret' }, 'docker.io': { ann: 'hub-pass' } };
  /** Registries added on the Registries screen (the app's `preferences.json`). */
  known: string[] = [];
  /** Stored logins: registry → user (the keyring; passwords are never kept by the UI). */
  logins: Record<string, string> = {};
  keyringError: string | null = null;
  hubUrl: string | null = null;
  envHubUrl: string | null = null;
  /** Platforms by image reference (`someone/nginx-arm` is arm only). */
  platforms: Record<string, string[]> = { 'someone/nginx-arm': ['linux/arm/v7'], 'someone/nginx-arm:latest': ['linux/arm/v7'] };
  machine = 'linux/amd64';
  /** Layer reports by image (a generated one when absent). */
  reports: Record<string, LayerReport> = {};
  calls: string[] = [];
  /** Host ports taken on this computer. */
  busyPorts = new Set<number>();
  private listeners = new Set<(ev: QuickRunEvent) => void>();
  private pushListeners = new Set<(p: PullProgress) => void>();

  constructor(private m: MockMachine) {}

  private need() {
    if (!this.m.running()) throw new BackendError('the machine is not running; start it from Home', 'not_running');
  }

  hubAddress(): HubAddress {
    return { url: this.envHubUrl ?? this.hubUrl ?? DEFAULT_HUB, default_url: DEFAULT_HUB, env_override: this.envHubUrl };
  }

  setHubAddress(url: string): HubAddress {
    const u = url.trim().replace(/\/+$/, '');
    if (u && !/^https?:\/\/\S+$/.test(u)) {
      throw new BackendError(`not a valid reference: "${u}" because the Docker Hub address must start with http:// or https://`, 'invalid');
    }
    this.hubUrl = u && u !== DEFAULT_HUB ? u : null;
    return this.hubAddress();
  }

  search(query: string, limit: number, page = 1): SearchPage {
    this.calls.push(page > 1 ? `search:${query}:page${page}` : `search:${query}`);
    const q = query.trim().toLowerCase();
    if (!q) throw new BackendError('not a valid reference: "" because a search needs a term', 'invalid');
    const found = this.repos.filter((r) => r.name.includes(q) || r.description.toLowerCase().includes(q));
    const { items, next_page } = onePage(found, limit, page, `page ${page} of the repositories matching "${q}"`);
    return { total: found.length, results: items, next_page };
  }

  hubTags(repository: string, limit: number, page = 1): TagPage {
    const name = repository.replace(/^library\//, '');
    const tags = this.tags[name];
    if (!tags) throw new BackendError(`not found: repository ${name} on Docker Hub`, 'not_found');
    const { items, next_page } = onePage(tags, limit, page, `page ${page} of the tags of ${name} on Docker Hub`);
    return { total: tags.length, tags: structuredClone(items), next_page };
  }

  registries(): RegistriesView {
    const names = new Set([...this.m.insecureRegistries(), ...this.m.mirrors(), ...this.known, ...Object.keys(this.logins)]);
    return {
      registries: [...names].sort().map((registry) => ({
        registry, insecure: this.m.insecureRegistries().includes(registry), mirror: this.m.mirrors().includes(registry),
        added: this.known.includes(registry), username: this.logins[registry] ?? null,
      })),
      keyring_error: this.keyringError,
    };
  }

  /** Remembers a registry reached over HTTPS; refuses what the engine's `RegistryAddr::parse` refuses. */
  addKnown(input: string): string[] {
    const registry = registryAddress(input);
    const invalid = registryAddressError(registry, false);
    const hint = registry.includes('://') ? "; for plain HTTP add it to the machine's insecure registries" : '';
    if (invalid) throw new BackendError(invalid + hint, 'invalid');
    this.calls.push(`addKnown:${registry}`);
    if (!this.known.some((r) => r.toLowerCase() === registry.toLowerCase())) this.known.push(registry);
    return [...this.known];
  }

  removeKnown(registry: string): string[] {
    this.calls.push(`removeKnown:${registry}`);
    this.known = this.known.filter((r) => r.toLowerCase() !== registry.trim().toLowerCase());
    return [...this.known];
  }

  catalog(registry: string): string[] {
    const c = this.catalogs[registry.trim()];
    if (!c) throw new BackendError(`cannot reach registry ${registry}: connection refused; check the address, your network and any proxy`, 'unreachable');
    return Object.keys(c).sort();
  }

  registryTags(repository: string): string[] {
    const at = repository.lastIndexOf('/');
    const tags = this.catalogs[repository.slice(0, at)]?.[repository.slice(at + 1)];
    if (!tags) throw new BackendError(`not found: repository ${repository}`, 'not_found');
    return [...tags];
  }

  login(registry: string, username: string, password: string) {
    const r = registry.trim() || 'docker.io';
    if (!username.trim() || !password) throw new BackendError('a user name and a password are both needed', 'invalid');
    if (this.keyringError) throw new BackendError(this.keyringError, 'credentials');
    if (this.accounts[r]?.[username.trim()] !== password) {
      throw new BackendError(`wrong username or password for ${r}; nothing was stored`, 'wrong_credentials');
    }
    this.logins[r] = username.trim();
    return { registry: r, username: username.trim() };
  }

  logout(registry: string): boolean {
    const had = registry in this.logins;
    delete this.logins[registry];
    return had;
  }

  /** Names `source` `target` and pushes it layer by layer; the registry must know the user when it has accounts. */
  async push(source: string, target: string): Promise<PushReport> {
    this.need();
    this.calls.push(`push:${source}->${target}`);
    const { registry, repository, tag } = splitTarget(target.trim());
    if (registry === 'docker.io') this.catalogs[registry] ??= {};
    const catalog = this.catalogs[registry];
    if (!catalog) {
      throw new BackendError(
        `cannot reach registry ${registry} from the machine: dial tcp: connection refused; if it serves plain HTTP, add it to the machine's insecure registries (Settings, or \`berth start --insecure-registry HOST:PORT\` and \`berth restart\`)`,
        'unreachable',
      );
    }
    this.m.tagImage(source, target);
    const emit = (p: Omit<PullProgress, 'reference'>) => {
      for (const cb of this.pushListeners) cb({ reference: target, ...p });
    };
    emit({ layer: null, status: `The push refers to repository [${registry}/${repository}]`, current: null, total: null });
    if (this.accounts[registry] && !this.logins[registry]) {
      throw new BackendError(
        `push denied: log in to ${registry} with an account that may push to ${repository} (\`berth login ${registry}\`)`,
        'unauthorized',
      );
    }
    for (const layer of ['5f70bf18a086', 'a3ed95caeb02']) {
      emit({ layer, status: 'Preparing', current: null, total: null });
      await this.m.step();
      for (const current of [512_000, 1_048_576]) {
        emit({ layer, status: 'Pushing', current, total: 1_048_576 });
        await this.m.step();
      }
      emit({ layer, status: 'Pushed', current: null, total: null });
    }
    const digest = `sha256:${'c0ffee'.repeat(10)}cafe`;
    emit({ layer: null, status: `${tag}: digest: ${digest} size: 739`, current: null, total: null });
    const tags = (catalog[repository] ??= []);
    if (!tags.includes(tag)) tags.push(tag);
    return { reference: target, digest };
  }

  onPush(cb: (p: PullProgress) => void): Unsubscribe {
    this.pushListeners.add(cb);
    return () => this.pushListeners.delete(cb);
  }

  explore(image: string, where: 'local' | 'remote'): LayerReport {
    if (where === 'local') this.need();
    this.calls.push(`layers:${where}:${image}`);
    return structuredClone(this.reports[image] ?? demoReport(image));
  }

  machinePlatform(): string {
    this.need();
    return this.machine;
  }

  private emit(run_id: number, event: QuickRunEvent['event']) {
    for (const cb of this.listeners) cb({ run_id, event });
  }

  async quickRun(runId: number, reference: string, opts: QuickRunOptions): Promise<QuickRun> {
    this.need();
    this.calls.push(`quickRun:${reference}`);
    const platforms = this.platforms[reference] ?? [this.machine];
    const arch = (p: string) => p.split('/')[1];
    const emulated = !platforms.some((p) => arch(p) === arch(this.machine));
    this.emit(runId, { step: 'checked', image_platforms: platforms, machine: this.machine, emulated });
    if (emulated && !opts.allow_emulated) {
      throw new BackendError(
        `${reference} is built for ${platforms.join(', ')}, and this machine runs ${this.machine}: it would run emulated (slow, and only where the machine has an emulator for it); confirm to run it anyway`,
        'needs_emulation',
      );
    }
    await this.m.pullImage(reference);
    const ports: PortRequest[] = [];
    for (const spec of this.m.exposedOf(reference) ?? ['80/tcp']) {
      const [p, protocol = 'tcp'] = spec.split('/');
      let host = Number(p);
      while (this.busyPorts.has(host) || ports.some((x) => x.host_port === host)) host = host < 1024 && host === Number(p) ? host + 8000 : host + 1;
      ports.push({ container_port: Number(p), protocol, host_port: host });
    }
    this.emit(runId, { step: 'starting', ports });
    const labels: Record<string, string> = { 'dev.berth.quickrun': reference, ...(emulated ? { 'dev.berth.emulated': 'true' } : {}) };
    const id = await this.m.runContainer({ image: reference, name: opts.name, ports, env: [], command: null, labels });
    for (const p of ports) this.busyPorts.add(p.host_port);
    const urls = ports.filter((p) => p.protocol === 'tcp').map((p) => `http://localhost:${p.host_port}`);
    return { id, name: this.m.containerName(id), image: reference, ports, urls, emulated };
  }

  onQuickRun(cb: (ev: QuickRunEvent) => void): Unsubscribe {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

/** Page `page` (from 1) of `limit` items, as Hub pages them: a page past the last is not found. */
function onePage<T>(all: T[], limit: number, page: number, what: string): { items: T[]; next_page: number | null } {
  const start = (page - 1) * limit;
  if (page > 1 && start >= all.length) throw new BackendError(`not found: ${what}`, 'not_found');
  return { items: all.slice(start, start + limit), next_page: all.length > start + limit ? page + 1 : null };
}
