// The run dialog's volume rows, checked as berth-engine checks them (crates/engine/src/mounts.rs), so the
// user sees what to fix before Docker is asked.
import type { VolumeMount } from './backend/backend';

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Whether the source is a path on the machine rather than a volume name. */
export const isMachinePath = (source: string) => source.trim().startsWith('/');

/** What is wrong with one row (null when nothing); `others` are the rows' container paths before it. */
export function mountProblem(m: VolumeMount, others: string[] = []): string | null {
  const source = m.source.trim();
  const target = m.target.trim();
  if (!source) return 'Choose a volume name or a machine path (starting with /).';
  if (source.includes(':')) return `"${source}" cannot contain ":".`;
  if (!source.startsWith('/')) {
    if (source.startsWith('.') || source.startsWith('~') || source.includes('/')) {
      return 'A path must be absolute (start with /) and is a folder on the Berth machine, not on your computer.';
    }
    if (!VOLUME_NAME.test(source)) return 'Volume names use letters, digits and _ . - and start with a letter or digit.';
  }
  if (!target) return 'Enter where it goes in the container, for example /data.';
  if (!target.startsWith('/')) return `The container path must be absolute: /${target}?`;
  if (target === '/') return "A volume cannot replace the container's root; choose a folder such as /data.";
  if (target.includes(':')) return 'The container path cannot contain ":".';
  if (others.includes(target)) return `${target} is already used by another row.`;
  return null;
}

/** A row left empty, which is ignored rather than refused. */
export const isBlank = (m: VolumeMount) => !m.source.trim() && !m.target.trim();

/** Every row's problem, in order (none for blank rows). */
export function mountProblems(rows: VolumeMount[]): (string | null)[] {
  return rows.map((m, i) => (isBlank(m) ? null : mountProblem(m, rows.slice(0, i).map((r) => r.target.trim()))));
}

/** The rows as the backend takes them: trimmed, blank ones dropped. */
export function cleanMounts(rows: VolumeMount[]): VolumeMount[] {
  return rows.filter((m) => !isBlank(m)).map((m) => ({ source: m.source.trim(), target: m.target.trim(), read_only: m.read_only }));
}
