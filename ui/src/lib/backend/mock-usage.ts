// The in-memory machine's resource use: a plausible reading every 2 s while it runs (browser dev only;
// tests emit readings themselves), and null once it stops — as src-tauri's `usage` task does.
import type { MachineUsage, Unsubscribe } from './backend';

const MIB = 1024 * 1024;

/** The `n`th reading of a calm machine: a little CPU, ~0.5 GiB of 2 GiB, ~1.3 GiB of a 63 GiB disk. */
export function fakeUsage(n: number): MachineUsage {
  const wave = (Math.sin(n / 3) + 1) / 2;
  return {
    cpu_percent: n === 0 ? null : Math.round((2 + wave * 9) * 10) / 10,
    cpus: 2,
    memory_used_bytes: Math.round((480 + wave * 70) * MIB),
    memory_total_bytes: 1986 * MIB,
    disk_used_bytes: 1330 * MIB,
    disk_size_bytes: 63 * 1024 * MIB,
    host_rss_bytes: Math.round((610 + wave * 40) * MIB),
  };
}

export class MockUsage {
  private listeners = new Set<(u: MachineUsage | null) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private n = 0;

  /** Follows the machine: readings while it runs (every `periodMs` when > 0), null when it stops. */
  machine(running: boolean, periodMs: number) {
    if (running && !this.timer && periodMs > 0) {
      this.timer = setInterval(() => this.emit(fakeUsage(++this.n)), periodMs);
    } else if (!running) {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.n = 0;
      this.emit(null);
    }
  }

  latest(running: boolean): MachineUsage | null {
    return running ? fakeUsage(this.n) : null;
  }

  on(cb: (u: MachineUsage | null) => void): Unsubscribe {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  emit(u: MachineUsage | null) {
    for (const cb of this.listeners) cb(u);
  }
}
