import { describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import { PullStore } from './pulls.svelte';

describe('PullStore', () => {
  it('tracks each layer and finishes', async () => {
    const b = new MockBackend({ state: 'running' });
    const p = new PullStore(b);
    p.start();
    const seen: number[] = [];
    b.onPullProgress(() => seen.push(p.pulls[0]?.layers.length ?? 0));
    expect(await p.pull('busybox')).toBe(true);
    const pull = p.pulls[0];
    expect(pull.state).toBe('done');
    expect(pull.layers.map((l) => l.id)).toEqual(['aaa111', 'bbb222']);
    expect(pull.layers[0].status).toBe('Pull complete');
    expect(pull.message).toMatch(/Downloaded newer image/);
    expect(Math.max(...seen)).toBe(2);
    p.stop();
  });

  it('keeps the error of a failed pull', async () => {
    const b = new MockBackend({ state: 'stopped' });
    const p = new PullStore(b);
    expect(await p.pull('x')).toBe(false);
    expect(p.pulls[0].error).toMatch(/not running/);
  });
});
