// Adding and removing registries on the Registries screen. A plain-HTTP registry joins the machine's
// insecure registries (its settings, saved as the Settings screen saves them; Docker in the machine reads
// them when it starts); any other is remembered by the app (`addKnownRegistry`). Addresses are checked with
// the settings' rule (berth-api's) and the port rule of the engine's `RegistryAddr::parse` before anything
// is saved; the backend checks again and its refusal is shown as it comes.
import { BackendError, type Backend, type RegistryEntry } from './backend/backend';
import { registryError } from './settings';

/** What a change did; `settingsChanged`: the machine's insecure registries changed (they apply at its next start). */
export interface RegistryChange {
  registry: string;
  settingsChanged: boolean;
}

/** The address as the engine reads it: trimmed, without trailing slashes. */
export const registryAddress = (input: string) => input.trim().replace(/\/+$/, '');

/** Why `address` (`host[:port]`) cannot be added, or null. */
export function registryAddressError(address: string, insecure: boolean): string | null {
  const shape = registryError(address, insecure ? 'insecure registry' : 'registry address');
  if (shape) return shape;
  const colon = address.lastIndexOf(':');
  if (colon < 0 || address.endsWith(']')) return null;
  const port = address.slice(colon + 1);
  return /^\d+$/.test(port) && Number(port) <= 65535 ? null : `the port of ${JSON.stringify(address)} must be a number up to 65535`;
}

const same = (a: string) => (b: string) => a.toLowerCase() === b.toLowerCase();

/** Checks `input` and adds it: to the machine's insecure registries when `insecure`, else to the app's list. */
export async function addRegistry(backend: Backend, input: string, insecure: boolean): Promise<RegistryChange> {
  const registry = registryAddress(input);
  const invalid = registryAddressError(registry, insecure);
  if (invalid) throw new BackendError(invalid, 'invalid');
  if (!insecure) {
    await backend.addKnownRegistry(registry);
    return { registry, settingsChanged: false };
  }
  const { config } = await backend.getSettings();
  if (config.insecure_registries.some(same(registry))) return { registry, settingsChanged: false };
  await backend.saveSettings({ ...config, insecure_registries: [...config.insecure_registries, registry] });
  return { registry, settingsChanged: true };
}

/** Whether the Registries screen offers Remove: the registry was added there, or is an insecure one. */
export const removable = (r: RegistryEntry) => r.added || r.insecure;

/** Takes `entry` off the app's list and, when insecure, off the machine's insecure registries. */
export async function removeRegistry(backend: Backend, entry: RegistryEntry): Promise<RegistryChange> {
  if (entry.added) await backend.removeKnownRegistry(entry.registry);
  if (!entry.insecure) return { registry: entry.registry, settingsChanged: false };
  const { config } = await backend.getSettings();
  const left = config.insecure_registries.filter((r) => !same(entry.registry)(r));
  if (left.length === config.insecure_registries.length) return { registry: entry.registry, settingsChanged: false };
  await backend.saveSettings({ ...config, insecure_registries: left });
  return { registry: entry.registry, settingsChanged: true };
}
