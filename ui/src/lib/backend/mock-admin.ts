// The in-memory machine's settings, docker context, doctor findings, machine logs and quick checks, for
// MockBackend (browser dev and tests). Same rules as the engine: settings are validated (plus the host
// memory check only berthd can make), the data disk never shrinks, switching the context remembers the
// previous one.
import {
  BackendError,
  type DockerContextState,
  type Finding,
  type MachineChecks,
  type MachineConfig,
  type MachineLogKind,
  type MachineLogTail,
  type MachineStatus,
  type SettingsLimits,
  type SettingsView,
} from './backend';
import { validateSettings } from '../settings';

export function defaultSettings(): MachineConfig {
  return { cpus: 2, memory_mib: 2048, disk_gib: 64, insecure_registries: [], registry_mirrors: [] };
}

export class MockAdmin {
  settings = defaultSettings();
  /** The data disk's size now (0: never started). */
  diskNowGib = 0;
  /** berthd also refuses more memory than the host has; the UI cannot know this number. */
  hostMemoryMib = 16384;
  dataDiskUsed = 1_250_000_000;
  dataDir = '/home/you/.local/share/berth/machines/default';
  /** The reference "Run your first container" suggests (never a public registry in tests). */
  suggestedImage = 'registry.local/hello:1';
  /** Whether a docker CLI is installed. */
  dockerCli = true;
  currentContext = 'default';
  previousContext = 'default';
  /** When set, the next context switch fails with this message. */
  contextError: string | null = null;
  logs: Record<MachineLogKind, string[]> = {
    daemon: ['berthd 0.1.0 starting machine default', 'backend: qemu-tcg — /dev/kvm cannot boot Linux here', 'Docker Engine 26.1.5 is ready'],
    console: ['[    0.000] Linux version 6.1.0', '[    1.200] berth-agent: mounts: done', '[    3.400] berth-agent: docker: ready'],
    agent: ['[    1.200] berth-agent: mounts: done', '[    3.400] berth-agent: docker: ready'],
    hypervisor: [],
  };
  /** Extra findings `doctor` reports (tests add failures here). */
  extraFindings: Finding[] = [];

  limits(): SettingsLimits {
    return { cpus: { min: 1, max: 64 }, memory_mib: { min: 512, max: 262144 }, disk_gib: { min: 8, max: 4096 }, disk_now_gib: this.diskNowGib };
  }

  view(): SettingsView {
    return { config: structuredClone(this.settings), limits: this.limits() };
  }

  save(config: MachineConfig): MachineConfig {
    const errors = validateSettings(config, this.limits());
    const first = Object.values(errors)[0];
    if (first) throw new BackendError(first, 'invalid');
    if (config.memory_mib > this.hostMemoryMib) {
      throw new BackendError(`invalid settings: memory ${config.memory_mib} MiB is more than this computer has (${this.hostMemoryMib} MiB)`, 'invalid');
    }
    this.settings = structuredClone(config);
    return structuredClone(config);
  }

  contextState(): DockerContextState {
    return {
      cli: this.dockerCli,
      current: this.currentContext,
      uses_berth: this.currentContext === 'berth',
      previous: this.previousContext,
      overridden_by: null,
      config_file: '/home/you/.docker/config.json',
    };
  }

  useBerth(on: boolean): DockerContextState {
    if (!this.dockerCli) throw new BackendError('cannot run the docker CLI (docker: not found); install it (Debian: docker-cli) to use `docker` with Berth', 'docker_cli');
    if (this.contextError) {
      const e = this.contextError;
      this.contextError = null;
      throw new BackendError(e, 'docker_cli');
    }
    if (on && this.currentContext !== 'berth') {
      this.previousContext = this.currentContext;
      this.currentContext = 'berth';
    } else if (!on && this.currentContext === 'berth') {
      this.currentContext = this.previousContext;
      this.previousContext = 'default';
    }
    return this.contextState();
  }

  private virtualization(status: MachineStatus): Finding {
    const b = status.backend;
    if (!b) return { id: 'virtualization', check: 'virtualization', level: 'ok', message: '/dev/kvm is usable; berthd test-boots Linux on it when the machine starts', fix: null };
    if (b.kind === 'qemu-tcg') {
      return { id: 'virtualization', check: 'virtualization', level: 'warn', message: `emulating the CPU (QEMU TCG: works, slower): ${b.reason}`, fix: "none needed: this host's KVM cannot boot Linux (common under nested virtualization)" };
    }
    return { id: 'virtualization', check: 'virtualization', level: 'ok', message: `hardware virtualization (KVM, QEMU): ${b.reason}`, fix: null };
  }

  private disk(): Finding {
    return {
      id: 'disk',
      check: 'disk',
      level: 'ok',
      message: `120.0 GiB free of 500.0 GiB at ${this.dataDir}; the machine's disk can grow to ${this.settings.disk_gib} GiB (1.2 GiB used)`,
      fix: null,
    };
  }

  doctor(status: MachineStatus): Finding[] {
    return [
      this.virtualization(status),
      { id: 'tools.qemu', check: 'tools', level: 'ok', message: 'qemu-system-x86_64 found at /usr/bin/qemu-system-x86_64', fix: null },
      { id: 'tools.passt', check: 'tools', level: 'ok', message: 'passt found at /usr/bin/passt', fix: null },
      { id: 'image', check: 'image', level: 'ok', message: 'guest image at /home/you/.local/share/berth/image', fix: null },
      this.disk(),
      ...this.extraFindings,
    ];
  }

  checks(status: MachineStatus): MachineChecks {
    return { checks: [this.virtualization(status), this.disk()], data_dir: this.dataDir, data_disk_used: this.dataDiskUsed, suggested_image: this.suggestedImage };
  }

  log(kind: MachineLogKind, lines: number): MachineLogTail {
    const all = this.logs[kind];
    const path = `${this.dataDir}/${kind === 'daemon' ? 'berthd' : kind === 'agent' ? 'console' : kind}.log`;
    return { kind, path, exists: all.length > 0, lines: all.slice(-lines), truncated: all.length > lines };
  }

  /** What a reset deletes: the disk and the logs; the settings stay. */
  reset() {
    this.diskNowGib = 0;
    this.dataDiskUsed = 0;
    for (const k of Object.keys(this.logs) as MachineLogKind[]) this.logs[k] = [];
  }
}
