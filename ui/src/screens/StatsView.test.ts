import { render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { fakeStats } from '../lib/backend/mock-shell';
import { niceCeil } from '../lib/chart';
import StatsView from './StatsView.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

function running() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

describe('StatsView', () => {
  it('charts live readings and stops the stream when it goes away', async () => {
    const b = running();
    const { container, unmount } = render(StatsView, { backend: b, id: 'c1', name: 'web' });
    await settle();
    b.emitStats({ stream_id: 1, sample: { ...fakeStats(2), cpu_percent: 42.25, memory_bytes: 30_000_000 }, ended: false, error: null });
    b.emitStats({ stream_id: 7, sample: { ...fakeStats(3), cpu_percent: 99 }, ended: false, error: null });
    await tick();
    expect(container.querySelector('[data-stat="cpu"]')?.textContent).toBe('42 %');
    expect(container.querySelector('[data-stat="memory"]')?.textContent).toBe('30 MB');
    expect(screen.getByText(/of 200 % \(2 CPUs\)/)).toBeTruthy();
    expect(screen.getByRole('img', { name: 'CPU use over the last minute' }).querySelectorAll('path')).toHaveLength(2);
    unmount();
    expect(b.calls).toContain('stopStats:1');
  });

  it('says when the container is not running', async () => {
    const b = running();
    b.containers[0].state = 'exited';
    render(StatsView, { backend: b, id: 'c1', name: 'web' });
    await settle();
    expect(screen.getByText(/not running; start it/)).toBeTruthy();
  });

  it('shows why stats are unavailable', async () => {
    const b = new MockBackend({ state: 'stopped' });
    render(StatsView, { backend: b, id: 'c1', name: 'web' });
    await settle();
    expect(screen.getByRole('alert').textContent).toMatch(/not running/);
  });

  it('picks chart scales that read well', () => {
    expect([0, 0.3, 1, 3, 7, 42, 120].map(niceCeil)).toEqual([1, 0.5, 1, 5, 10, 50, 200]);
  });
});
