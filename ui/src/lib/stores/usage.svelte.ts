// The machine's resource use for Home: the latest reading, pushed by the backend every 2 s while the
// machine runs and the window shows (`machine-usage`); read once when the machine is (or becomes)
// running so the meters fill without waiting, and cleared when it stops.
import type { Backend, MachineUsage, Unsubscribe } from '../backend/backend';

export class UsageStore {
  reading = $state<MachineUsage | null>(null);
  private offs: Unsubscribe[] = [];

  constructor(private backend: Backend) {}

  /** Follows usage events (and machine state) until `stop`. */
  start(running: boolean) {
    this.stop();
    this.offs = [
      this.backend.onMachineUsage((u) => (this.reading = u)),
      this.backend.onMachineEvent((ev) => {
        if (ev.type !== 'status') return;
        if (ev.status.state === 'running') {
          if (!this.reading) void this.fetch();
        } else this.reading = null;
      }),
    ];
    if (running) void this.fetch();
  }

  stop() {
    for (const off of this.offs) off();
    this.offs = [];
  }

  private async fetch() {
    try {
      const u = await this.backend.machineUsage();
      // An event may have brought a newer reading meanwhile.
      this.reading ??= u;
    } catch {
      // The next event brings one; a failure here (the machine just stopped) shows nothing rather than an error.
    }
  }
}
