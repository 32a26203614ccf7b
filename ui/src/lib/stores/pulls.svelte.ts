// Pulls in flight and their per-layer progress, fed by pull-progress events.
import { BackendError, type Backend, type PullProgress, type Unsubscribe } from '../backend/backend';
import { applyProgress, type LayerProgress } from '../layer-progress';

export type { LayerProgress } from '../layer-progress';

export interface Pull {
  reference: string;
  layers: LayerProgress[];
  /** The last line about the whole image. */
  message: string;
  state: 'pulling' | 'done' | 'failed';
  error: string | null;
}

export class PullStore {
  pulls = $state<Pull[]>([]);
  private off: Unsubscribe | null = null;

  constructor(private backend: Backend) {}

  start() {
    this.off = this.backend.onPullProgress((p) => this.apply(p));
  }

  stop() {
    this.off?.();
  }

  apply(p: PullProgress) {
    const pull = this.pulls.find((x) => x.reference === p.reference && x.state === 'pulling');
    if (!pull) return;
    const message = applyProgress(pull.layers, p);
    if (message !== null) pull.message = message;
  }

  /** Pulls `reference`; resolves true when it succeeded. */
  async pull(reference: string): Promise<boolean> {
    reference = reference.trim();
    if (!reference) return false;
    this.pulls = [
      { reference, layers: [], message: 'Starting', state: 'pulling', error: null },
      ...this.pulls.filter((p) => p.reference !== reference),
    ];
    const pull = () => this.pulls.find((p) => p.reference === reference)!;
    try {
      await this.backend.pullImage(reference);
      pull().state = 'done';
      return true;
    } catch (e) {
      pull().state = 'failed';
      pull().error = BackendError.from(e).message;
      return false;
    }
  }

  dismiss(reference: string) {
    this.pulls = this.pulls.filter((p) => p.reference !== reference);
  }
}
