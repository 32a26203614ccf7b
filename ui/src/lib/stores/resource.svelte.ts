// A list that follows the machine: loaded when Docker is up, emptied when the machine stops, and
// refreshed (debounced) when Docker reports a change of a kind it cares about.
import { BackendError, type Backend, type DockerChange, type Unsubscribe } from '../backend/backend';
import { debounce } from './debounce';

export interface ResourceOptions<T> {
  fetch: (b: Backend) => Promise<T[]>;
  /** Docker change kinds that make this list stale. */
  kinds: DockerChange['kind'][];
  debounceMs?: number;
}

export class ResourceStore<T> {
  items = $state<T[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  private offs: Unsubscribe[] = [];
  private pending: { (): void; cancel(): void };
  private machineUp = false;

  constructor(
    private backend: Backend,
    private opts: ResourceOptions<T>,
  ) {
    this.pending = debounce(() => void this.refresh(), opts.debounceMs ?? 250);
  }

  /** Follows machine and Docker events; `running` is whether the machine is up now. */
  start(running: boolean) {
    this.machineUp = running;
    this.offs.push(
      this.backend.onMachineEvent((ev) => {
        if (ev.type !== 'status') return;
        const up = ev.status.state === 'running';
        if (up && !this.machineUp) void this.refresh();
        if (!up) {
          this.pending.cancel();
          this.items = [];
          this.loaded = false;
          this.error = null;
        }
        this.machineUp = up;
      }),
      this.backend.onDockerChange((ch) => {
        if (this.machineUp && this.opts.kinds.includes(ch.kind)) this.pending();
      }),
    );
    if (running) void this.refresh();
  }

  stop() {
    this.pending.cancel();
    for (const off of this.offs) off();
    this.offs = [];
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      this.items = await this.opts.fetch(this.backend);
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = BackendError.from(e).message;
    } finally {
      this.loading = false;
    }
  }
}
