// Small formatting helpers shared by the screens.
import type { PortMapping } from './backend/backend';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** Memory and disk sizes as the machine's settings count them: `412 MiB`, `1.9 GiB`. */
export function formatMiB(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const mib = n / (1024 * 1024);
  return mib < 1024 ? `${Math.round(mib)} MiB` : `${(mib / 1024).toFixed(1)} GiB`;
}

/** "3 minutes ago" from Unix seconds. */
export function formatAge(unixSeconds: number, now = Date.now()): string {
  const s = Math.max(0, Math.floor(now / 1000 - unixSeconds));
  const steps: [number, string][] = [
    [60 * 60 * 24 * 365, 'year'],
    [60 * 60 * 24 * 30, 'month'],
    [60 * 60 * 24, 'day'],
    [60 * 60, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of steps) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${name}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

export function formatUptime(seconds: number | null): string {
  if (seconds === null) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${seconds} s`;
}

/** `sha256:abcdef…` → `abcdef123456`. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The browser URL for a published TCP port, or null when it is not published or not TCP. */
export function portUrl(p: PortMapping): string | null {
  return p.host_port && p.protocol === 'tcp' ? `http://127.0.0.1:${p.host_port}` : null;
}

/** `80/tcp` → { container_port: 80, protocol: 'tcp' }; null for anything else. */
export function parseExposed(spec: string): { container_port: number; protocol: string } | null {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec.trim());
  if (!m) return null;
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return null;
  return { container_port: port, protocol: m[2] ?? 'tcp' };
}

/** Splits a command line on spaces, keeping "quoted parts" together. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}
