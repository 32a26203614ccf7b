// The machine's status, fed by the backend's machine events; start/stop/restart with their errors.
import { BackendError, type Backend, type MachineStatus, type Unsubscribe } from '../backend/backend';

export type MachineAction = 'start' | 'stop' | 'restart';

export class MachineStore {
  status = $state<MachineStatus | null>(null);
  /** Recent progress lines (boot phases, crashes, forwards), newest last. */
  progress = $state<string[]>([]);
  busy = $state<MachineAction | null>(null);
  /** The last failed action or status read: what happened and what to do. */
  error = $state<string | null>(null);
  running = $derived(this.status?.state === 'running');
  private off: Unsubscribe | null = null;

  constructor(private backend: Backend) {}

  /** Reads the status and follows machine events until `dispose`. */
  async init(): Promise<void> {
    this.off = this.backend.onMachineEvent((ev) => {
      if (ev.type === 'status') this.status = ev.status;
      else this.progress = [...this.progress.slice(-19), ev.message];
    });
    try {
      const s = await this.backend.machineStatus();
      // An event may have arrived first; it is newer.
      this.status ??= s;
    } catch (e) {
      this.error = BackendError.from(e).message;
    }
  }

  dispose() {
    this.off?.();
  }

  async run(action: MachineAction): Promise<void> {
    if (this.busy) return;
    this.busy = action;
    this.error = null;
    if (action !== 'stop') this.progress = [];
    try {
      // A machine in `error` still has its daemon: starting it again means restarting the guest.
      const failed = this.status?.state === 'error' && this.status.pid !== null;
      const s =
        action === 'start' && !failed
          ? await this.backend.machineStart()
          : action === 'stop'
            ? await this.backend.machineStop()
            : await this.backend.machineRestart();
      this.status = s;
    } catch (e) {
      this.error = BackendError.from(e).message;
      try {
        this.status = await this.backend.machineStatus();
      } catch {
        /* keep the last status we had */
      }
    } finally {
      this.busy = null;
    }
  }
}
