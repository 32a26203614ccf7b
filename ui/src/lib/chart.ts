// The arithmetic of the small charts (Sparkline, StatsView).

/** SVG path data for `values` on a 0…`max` scale, the newest at the right of `capacity` slots. */
export function sparkPaths(values: number[], max: number, capacity: number): { line: string; area: string } {
  const shown = values.slice(-capacity);
  if (!shown.length) return { line: '', area: '' };
  const top = max > 0 ? max : 1;
  const x0 = capacity - shown.length;
  const pts = shown.map((v, i) => {
    const y = 100 - (Math.min(Math.max(v, 0), top) / top) * 100;
    return `${x0 + i},${+y.toFixed(2)}`;
  });
  // One reading is a flat step, so it is visible.
  if (pts.length === 1) pts.unshift(`${x0 - 1},${pts[0].split(',')[1]}`);
  const first = pts[0].split(',')[0];
  const last = pts[pts.length - 1].split(',')[0];
  return { line: `M${pts.join('L')}`, area: `M${first},100L${pts.join('L')}L${last},100Z` };
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `v` (a chart scale that reads well). */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
