// Per-layer progress of a pull or a push, from Docker's progress lines (`PullProgress`, which pushes share).
import type { PullProgress } from './backend/backend';

export interface LayerProgress {
  id: string;
  status: string;
  current: number | null;
  total: number | null;
}

/**
 * Applies one progress line to `layers` (in place: a layer's line replaces its last one, a new layer is
 * added at the end). Returns the line's text when it is about the whole image (no layer), else null.
 */
export function applyProgress(layers: LayerProgress[], p: PullProgress): string | null {
  if (!p.layer) return p.status;
  const layer = layers.find((l) => l.id === p.layer);
  const next = { id: p.layer, status: p.status, current: p.current, total: p.total ?? layer?.total ?? null };
  if (layer) Object.assign(layer, next);
  else layers.push(next);
  return null;
}

/** How far along a layer is, 0–100, or null while its size is unknown. */
export const percent = (l: LayerProgress): number | null =>
  l.current !== null && l.total ? Math.min(100, Math.round((l.current / l.total) * 100)) : null;
