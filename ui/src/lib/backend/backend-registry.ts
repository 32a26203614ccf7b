// Types of the registry half of the backend interface (Docker Hub, registries, logins, the layer
// explorer, one-click runs), re-exported by backend.ts. They mirror berth-engine's `registry` module and
// `quickrun.rs` (serde, snake_case).
import type { PortRequest, PullProgress } from './backend';

/** One repository found on Docker Hub (berth-engine's `HubRepo`). */
export interface HubRepo {
  /** The name to pull (`nginx`, `bitnami/redis`). */
  name: string;
  /** `library` for official images. */
  namespace: string;
  description: string;
  stars: number;
  pulls: number;
  official: boolean;
  verified_publisher: boolean;
  automated: boolean;
}

export interface SearchPage {
  /** How many repositories match in all. */
  total: number;
  results: HubRepo[];
  /** The page after this one (from 1), when Docker Hub has more; null on the last. */
  next_page: number | null;
}

export interface HubTagImage {
  os: string;
  architecture: string;
  variant: string | null;
  /** Compressed bytes. */
  size: number;
  digest: string | null;
}

export interface HubTag {
  name: string;
  /** Compressed size of its largest image. */
  size: number;
  /** RFC 3339. */
  last_updated: string | null;
  digest: string | null;
  images: HubTagImage[];
}

export interface TagPage {
  total: number;
  tags: HubTag[];
  /** The page after this one (from 1), when Docker Hub has more; null on the last. */
  next_page: number | null;
}

/** A registry the machine knows: in its settings (insecure or mirror), added on the Registries screen, or logged in to. */
export interface RegistryEntry {
  /** As images name it (`host.docker.internal:5000`, `docker.io`). */
  registry: string;
  /** Listed in the machine's insecure registries (plain HTTP). */
  insecure: boolean;
  /** A registry mirror of the machine (an http(s) URL). */
  mirror: boolean;
  /** Added on the Registries screen to be reached over HTTPS (remembered by the app, see `addKnownRegistry`). */
  added: boolean;
  /** The user stored in the keyring for it, if any. */
  username: string | null;
}

/** The registries, and why logins could not be listed (no OS keyring) when they could not. */
export interface RegistriesView {
  registries: RegistryEntry[];
  keyring_error: string | null;
}

/** What a push left in the registry (berth-engine's `PushReport`). */
export interface PushReport {
  /** The reference pushed (`host:port/name:tag`). */
  reference: string;
  /** The manifest digest the registry now has, when Docker reported it. */
  digest: string | null;
}

/** What a login stored (berth-engine's `Login`); the password is in the OS keyring, never here. */
export interface LoginResult {
  registry: string;
  username: string;
}

export type Change = 'added' | 'changed' | 'deleted' | 'opaque';
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** A path a layer touches (berth-engine's `FileChange`). */
export interface FileChange {
  /** Inside the image, without a leading `/`. */
  path: string;
  change: Change;
  kind: EntryKind;
  /** The file's bytes; for deletions, the bytes it hid. */
  size: number;
  link?: string | null;
}

export interface LayerInfo {
  digest: string | null;
  compressed_size: number | null;
  size: number;
  tar_size: number;
  created_by: string | null;
  /** The step as a Dockerfile line (`RUN apk add curl`). */
  instruction: string | null;
  /** Bytes of lower layers' files this layer overwrote or deleted. */
  wasted: number;
  files: FileChange[];
}

export interface WastedPath {
  path: string;
  bytes: number;
}

/** What the layer explorer found (berth-engine's `LayerReport`). */
export interface LayerReport {
  image: string;
  digest: string | null;
  /** `os/arch[/variant]`. */
  platform: string;
  /** Lowest (first applied) first. */
  layers: LayerInfo[];
  size: number;
  compressed_size: number | null;
  wasted: number;
  /** Largest first. */
  wasted_paths: WastedPath[];
}

export interface QuickRunOptions {
  /** Run even when the image is built for another architecture (the user confirmed). */
  allow_emulated: boolean;
  name: string | null;
}

/** A step of a one-click run (berth-engine's `QuickRunEvent`). */
export type QuickRunStep =
  | { step: 'checked'; image_platforms: string[]; machine: string; emulated: boolean }
  | ({ step: 'pull' } & PullProgress)
  | { step: 'starting'; ports: PortRequest[] };

/** A step of the one-click run `run_id` (as `quick-run` events). */
export interface QuickRunEvent {
  run_id: number;
  event: QuickRunStep;
}

/** A started one-click run (berth-engine's `QuickRun`). */
export interface QuickRun {
  id: string;
  name: string;
  image: string;
  ports: PortRequest[];
  /** `http://localhost:PORT` for each published TCP port. */
  urls: string[];
  emulated: boolean;
}

/** The Docker Hub address in use, and where it comes from. */
export interface HubAddress {
  url: string;
  default_url: string;
  /** Set when BERTH_HUB_URL overrides the saved address (then saving changes nothing until it is unset). */
  env_override: string | null;
}
