// Volume sizes from Docker's `system df`. Sizing walks every volume's files, so it is fetched only while
// the Volumes screen is shown: once when it opens, on Refresh, and after volume or container changes
// (debounced) — one call for all volumes, never per volume, never on a timer.
import { BackendError, type Backend, type Unsubscribe, type VolumeUsage } from '../backend/backend';
import { debounce } from './debounce';

export class VolumeSizes {
  /** By volume name; a volume absent here is not sized yet. */
  byName = $state<Record<string, VolumeUsage>>({});
  loading = $state(false);
  error = $state<string | null>(null);
  private pending: { (): void; cancel(): void };
  private inFlight: Promise<void> | null = null;
  private again = false;

  constructor(
    private backend: Backend,
    debounceMs = 250,
  ) {
    this.pending = debounce(() => void this.refresh(), debounceMs);
  }

  /** Fetches now and after changes until the returned function is called (the screen closes). */
  follow(running: boolean): Unsubscribe {
    const offs = [
      this.backend.onDockerChange((ch) => {
        if (ch.kind === 'volume' || ch.kind === 'container') this.pending();
      }),
      this.backend.onMachineEvent((ev) => {
        if (ev.type !== 'status') return;
        if (ev.status.state === 'running') this.pending();
        else {
          this.pending.cancel();
          this.byName = {};
          this.error = null;
        }
      }),
    ];
    if (running) void this.refresh();
    return () => {
      this.pending.cancel();
      for (const off of offs) off();
    };
  }

  /** One `system df`; a call while one is in flight runs once more after it instead of in parallel. */
  async refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.loading = true;
    this.inFlight = (async () => {
      try {
        const list = await this.backend.volumesUsage();
        this.byName = Object.fromEntries(list.map((u) => [u.name, u]));
        this.error = null;
      } catch (e) {
        this.error = `Could not read volume sizes: ${BackendError.from(e).message}`;
      } finally {
        this.loading = false;
        this.inFlight = null;
      }
    })();
    await this.inFlight;
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }
}
