import { describe, expect, it } from 'vitest';
import { applyProgress, percent, type LayerProgress } from './layer-progress';

const line = (layer: string | null, status: string, current: number | null = null, total: number | null = null) => ({
  reference: 'r:1',
  layer,
  status,
  current,
  total,
});

describe('applyProgress', () => {
  it('keeps one row per layer with its latest line and its known size', () => {
    const layers: LayerProgress[] = [];
    expect(applyProgress(layers, line('a', 'Preparing'))).toBeNull();
    applyProgress(layers, line('b', 'Waiting'));
    applyProgress(layers, line('a', 'Pushing', 50, 200));
    applyProgress(layers, line('a', 'Pushed'));
    expect(layers).toEqual([
      { id: 'a', status: 'Pushed', current: null, total: 200 },
      { id: 'b', status: 'Waiting', current: null, total: null },
    ]);
  });

  it('hands back lines about the whole image', () => {
    const layers: LayerProgress[] = [];
    expect(applyProgress(layers, line(null, '1: digest: sha256:ab size: 739'))).toBe('1: digest: sha256:ab size: 739');
    expect(layers).toEqual([]);
  });

  it('computes a percentage only when the size is known', () => {
    expect(percent({ id: 'a', status: '', current: 50, total: 200 })).toBe(25);
    expect(percent({ id: 'a', status: '', current: 300, total: 200 })).toBe(100);
    expect(percent({ id: 'a', status: '', current: 50, total: null })).toBeNull();
  });
});
