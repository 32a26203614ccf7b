import { describe, expect, it } from 'vitest';
import { MockBackend, runningStatus } from '../backend/mock';
import { MachineStore } from './machine.svelte';

describe('MachineStore', () => {
  it('follows status events and keeps progress lines', async () => {
    const b = new MockBackend();
    const m = new MachineStore(b);
    await m.init();
    expect(m.status?.state).toBe('stopped');
    b.emitMachine({ type: 'log', message: 'booting the guest' });
    b.emitMachine({ type: 'status', status: runningStatus() });
    expect(m.progress).toEqual(['booting the guest']);
    expect(m.running).toBe(true);
    m.dispose();
  });

  it('starts and stops', async () => {
    const b = new MockBackend();
    const m = new MachineStore(b);
    await m.init();
    await m.run('start');
    expect(m.status?.state).toBe('running');
    expect(m.busy).toBeNull();
    await m.run('stop');
    expect(m.status?.state).toBe('stopped');
  });

  it('keeps the reason when starting fails', async () => {
    const b = new MockBackend({ startError: 'passt is not installed; run scripts/setup' });
    const m = new MachineStore(b);
    await m.init();
    await m.run('start');
    expect(m.error).toBe('passt is not installed; run scripts/setup');
    expect(m.status?.state).toBe('error');
  });

  it('restarts a machine whose daemon reports an error', async () => {
    const b = new MockBackend();
    const m = new MachineStore(b);
    await m.init();
    b.emitMachine({ type: 'status', status: { ...runningStatus(), state: 'error', error: 'the guest crashed 3 times' } });
    await m.run('start');
    expect(b.calls).toContain('machineRestart');
    expect(m.status?.state).toBe('running');
  });
});
