import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { sparkPaths } from '../chart';
import Sparkline from './Sparkline.svelte';

describe('Sparkline', () => {
  it('draws the newest readings at the right on a fixed scale', () => {
    expect(sparkPaths([0, 50, 100], 100, 5)).toEqual({ line: 'M2,100L3,50L4,0', area: 'M2,100L2,100L3,50L4,0L4,100Z' });
    // Out-of-range values are clamped; only the last `capacity` are kept.
    expect(sparkPaths([10, 250, -5], 100, 2).line).toBe('M0,0L1,100');
    expect(sparkPaths([], 100, 60)).toEqual({ line: '', area: '' });
    expect(sparkPaths([25], 100, 10).line).toBe('M8,75L9,75');
  });

  it('renders an accessible chart', () => {
    const { container } = render(Sparkline, { values: [1, 2, 3], max: 4, label: 'CPU over the last minute' });
    expect(screen.getByRole('img', { name: 'CPU over the last minute' })).toBeTruthy();
    expect(container.querySelectorAll('path')).toHaveLength(2);
  });
});
