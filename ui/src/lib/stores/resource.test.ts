import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MockBackend, runningStatus, stoppedStatus } from '../backend/mock';
import { ResourceStore } from './resource.svelte';

describe('ResourceStore', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('loads when the machine runs and refreshes once per burst of changes', async () => {
    const b = new MockBackend({ state: 'running' });
    const fetch = vi.fn(async () => ['a']);
    const s = new ResourceStore(b, { fetch, kinds: ['container'], debounceMs: 100 });
    s.start(true);
    await vi.runAllTimersAsync();
    expect(s.items).toEqual(['a']);
    expect(fetch).toHaveBeenCalledTimes(1);
    b.emitDocker({ kind: 'container', action: 'start' });
    b.emitDocker({ kind: 'container', action: 'die' });
    b.emitDocker({ kind: 'image', action: 'pull' });
    await vi.advanceTimersByTimeAsync(150);
    expect(fetch).toHaveBeenCalledTimes(2);
    s.stop();
  });

  it('empties when the machine stops and reloads when it is back', async () => {
    const b = new MockBackend({ state: 'running' });
    const s = new ResourceStore(b, { fetch: async () => [1, 2], kinds: ['volume'] });
    s.start(true);
    await vi.runAllTimersAsync();
    expect(s.items).toEqual([1, 2]);
    b.emitMachine({ type: 'status', status: stoppedStatus() });
    expect(s.items).toEqual([]);
    expect(s.loaded).toBe(false);
    b.emitMachine({ type: 'status', status: runningStatus() });
    await vi.runAllTimersAsync();
    expect(s.items).toEqual([1, 2]);
    s.stop();
  });

  it('keeps the error to show', async () => {
    const b = new MockBackend({ state: 'running' });
    const s = new ResourceStore(b, { fetch: async () => Promise.reject({ message: 'Docker Engine: boom', kind: 'docker' }), kinds: [] });
    await s.refresh();
    expect(s.error).toBe('Docker Engine: boom');
  });
});
