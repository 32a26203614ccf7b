import { describe, expect, it } from 'vitest';
import { MockBackend, runningStatus, stoppedStatus } from '../backend/mock';
import { fakeUsage } from '../backend/mock-usage';
import { UsageStore } from './usage.svelte';

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('UsageStore', () => {
  it('reads once when the machine runs, then follows events', async () => {
    const b = new MockBackend({ state: 'running' });
    const u = new UsageStore(b);
    u.start(true);
    await flush();
    expect(u.reading?.memory_total_bytes).toBeGreaterThan(0);
    expect(u.reading?.cpu_percent).toBeNull();
    b.emitUsage(fakeUsage(3));
    expect(u.reading?.cpu_percent).toBe(fakeUsage(3).cpu_percent);
    u.stop();
    b.emitUsage(fakeUsage(5));
    expect(u.reading?.cpu_percent).toBe(fakeUsage(3).cpu_percent);
  });

  it('has nothing while stopped and clears when the machine stops', async () => {
    const b = new MockBackend();
    const u = new UsageStore(b);
    u.start(false);
    await flush();
    expect(u.reading).toBeNull();
    b.emitMachine({ type: 'status', status: runningStatus() });
    await flush();
    expect(u.reading).not.toBeNull();
    b.emitMachine({ type: 'status', status: { ...stoppedStatus(), state: 'stopping' } });
    expect(u.reading).toBeNull();
    b.emitUsage(fakeUsage(2));
    b.emitUsage(null);
    expect(u.reading).toBeNull();
    u.stop();
  });
});
