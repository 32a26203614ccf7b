// Everything the screens share: the backend and one store per resource.
import type { Backend, Container, Image, Volume } from '../backend/backend';
import { MachineStore } from './machine.svelte';
import { PullStore } from './pulls.svelte';
import { ResourceStore } from './resource.svelte';
import { UsageStore } from './usage.svelte';
import { VolumeSizes } from './volume-sizes.svelte';

export class AppState {
  machine: MachineStore;
  containers: ResourceStore<Container>;
  images: ResourceStore<Image>;
  volumes: ResourceStore<Volume>;
  /** Fetched only while the Volumes screen shows (see `VolumeSizes.follow`). */
  volumeSizes: VolumeSizes;
  pulls: PullStore;
  /** The machine's CPU, memory and disk use (Home's meters). */
  usage: UsageStore;

  constructor(
    readonly backend: Backend,
    debounceMs = 250,
  ) {
    this.machine = new MachineStore(backend);
    this.containers = new ResourceStore(backend, { fetch: (b) => b.listContainers(), kinds: ['container'], debounceMs });
    // Images and volumes show which containers use them, so container changes make them stale too.
    this.images = new ResourceStore(backend, { fetch: (b) => b.listImages(), kinds: ['image', 'container'], debounceMs });
    this.volumes = new ResourceStore(backend, { fetch: (b) => b.listVolumes(), kinds: ['volume', 'container'], debounceMs });
    this.volumeSizes = new VolumeSizes(backend, debounceMs);
    this.pulls = new PullStore(backend);
    this.usage = new UsageStore(backend);
  }

  async init(): Promise<void> {
    await this.machine.init();
    const up = this.machine.running;
    this.containers.start(up);
    this.images.start(up);
    this.volumes.start(up);
    this.pulls.start();
    this.usage.start(up);
    // Opening the app means wanting the machine: start it unless it runs, is on its way, or failed
    // (a failure waits for the user to read it and press Start).
    if (this.machine.status?.state === 'stopped' && (await this.backend.autostart().catch(() => false))) {
      void this.machine.run('start');
    }
  }

  dispose() {
    this.machine.dispose();
    this.containers.stop();
    this.images.stop();
    this.volumes.stop();
    this.pulls.stop();
    this.usage.stop();
  }
}
