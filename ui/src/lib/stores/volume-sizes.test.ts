import { describe, expect, it } from 'vitest';
import { MockBackend, stoppedStatus } from '../backend/mock';
import { VolumeSizes } from './volume-sizes.svelte';

const settle = () => new Promise((r) => setTimeout(r, 5));

function backend() {
  const b = new MockBackend({ state: 'running' });
  b.volumes = [{ name: 'db', driver: 'local', mountpoint: '/v/db', created_at: null, used_by: ['pg'] }];
  b.volumeSizes = { db: 4096 };
  return b;
}

describe('VolumeSizes', () => {
  it('reads every size in one call and keys them by name', async () => {
    const b = backend();
    const s = new VolumeSizes(b, 0);
    const stop = s.follow(true);
    await settle();
    expect(s.byName.db).toEqual({ name: 'db', size: 4096, ref_count: 1 });
    expect(b.calls.filter((c) => c === 'volumesUsage')).toHaveLength(1);
    stop();
  });

  it('runs a refresh asked for mid-flight once more afterwards, not in parallel', async () => {
    const b = backend();
    let inFlight = 0;
    let most = 0;
    const real = b.volumesUsage.bind(b);
    b.volumesUsage = async () => {
      most = Math.max(most, ++inFlight);
      await settle();
      inFlight--;
      return real();
    };
    const s = new VolumeSizes(b, 0);
    await Promise.all([s.refresh(), s.refresh(), s.refresh()]);
    await settle();
    expect(most).toBe(1);
    expect(b.calls.filter((c) => c === 'volumesUsage')).toHaveLength(2);
  });

  it('forgets sizes when the machine stops and does not ask while it is stopped', async () => {
    const b = backend();
    const s = new VolumeSizes(b, 0);
    const stop = s.follow(true);
    await settle();
    b.emitMachine({ type: 'status', status: stoppedStatus() });
    expect(s.byName).toEqual({});
    stop();
    const idle = new VolumeSizes(new MockBackend(), 0);
    const stop2 = idle.follow(false);
    await settle();
    expect(idle.byName).toEqual({});
    stop2();
  });
});
