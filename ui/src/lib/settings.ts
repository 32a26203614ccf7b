// Checks machine settings before asking the backend, with berth-api's rules and the same messages
// (crates/api/src/config.rs), and places the backend's own refusal next to the field it is about.
import type { MachineConfig, SettingsLimits } from './backend/backend';

export type SettingsField = 'cpus' | 'memory_mib' | 'disk_gib' | 'insecure_registries' | 'registry_mirrors';
export type FieldErrors = Partial<Record<SettingsField, string>>;

/** Rust's `{:?}` of a string, close enough for messages: quoted, with quotes and backslashes escaped. */
const quoted = (s: string) => JSON.stringify(s);

/** berth-api's rule for an insecure registry; `what` names the entry in the message. */
export function registryError(r: string, what = 'insecure registry'): string | null {
  const ok = r.length > 0 && !r.includes('://') && !r.includes('/') && /^[A-Za-z0-9.\-:[\]]+$/.test(r);
  return ok ? null : `${what} ${quoted(r)} must be host[:port] without a scheme, e.g. host.docker.internal:5000`;
}

export function mirrorError(m: string): string | null {
  const ok = (m.startsWith('http://') || m.startsWith('https://')) && !/\s/.test(m);
  return ok ? null : `registry mirror ${quoted(m)} must be an http:// or https:// URL`;
}

/** Every problem, by field (empty when the settings may be saved). */
export function validateSettings(c: MachineConfig, l: SettingsLimits): FieldErrors {
  const e: FieldErrors = {};
  const whole = (name: string, v: number) => (Number.isInteger(v) ? null : `${name} must be a whole number`);
  e.cpus =
    whole('cpus', c.cpus) ??
    (c.cpus < l.cpus.min || c.cpus > l.cpus.max ? `cpus must be between ${l.cpus.min} and ${l.cpus.max} (got ${c.cpus})` : undefined);
  const mem = l.memory_mib;
  e.memory_mib =
    whole('memory', c.memory_mib) ??
    (c.memory_mib < mem.min || c.memory_mib > mem.max
      ? `memory must be between ${mem.min} and ${mem.max} MiB (got ${c.memory_mib} MiB)`
      : undefined);
  // The api's range first, then the disk's own floor (its current size), as the engine checks them.
  e.disk_gib =
    whole('disk size', c.disk_gib) ??
    (c.disk_gib < l.disk_gib.min || c.disk_gib > l.disk_gib.max
      ? `disk size must be between ${l.disk_gib.min} and ${l.disk_gib.max} GiB (got ${c.disk_gib} GiB)`
      : c.disk_gib < l.disk_now_gib
        ? `the data disk is ${l.disk_now_gib} GiB and cannot shrink to ${c.disk_gib} GiB (delete the machine to start smaller)`
        : undefined);
  e.insecure_registries = c.insecure_registries.map((r) => registryError(r)).find((x) => x) ?? undefined;
  e.registry_mirrors = c.registry_mirrors.map(mirrorError).find((x) => x) ?? undefined;
  for (const k of Object.keys(e) as SettingsField[]) if (!e[k]) delete e[k];
  return e;
}

/** The field a backend refusal is about, from its message (`invalid settings: memory must be …`). */
export function fieldOf(message: string): SettingsField | null {
  const m = message.replace(/^invalid settings:\s*/, '');
  if (m.startsWith('cpus')) return 'cpus';
  if (m.startsWith('memory')) return 'memory_mib';
  if (m.startsWith('disk size') || m.startsWith('the data disk')) return 'disk_gib';
  if (m.startsWith('insecure registry')) return 'insecure_registries';
  if (m.startsWith('registry mirror')) return 'registry_mirrors';
  return null;
}

export function sameSettings(a: MachineConfig, b: MachineConfig): boolean {
  return (
    a.cpus === b.cpus &&
    a.memory_mib === b.memory_mib &&
    a.disk_gib === b.disk_gib &&
    a.insecure_registries.join('\n') === b.insecure_registries.join('\n') &&
    a.registry_mirrors.join('\n') === b.registry_mirrors.join('\n')
  );
}
