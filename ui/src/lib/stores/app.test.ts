import { describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import { AppState } from './app.svelte';

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('AppState', () => {
  it('starts a stopped machine when the app opens, and loads the lists once it runs', async () => {
    const b = MockBackend.demo(0);
    const app = new AppState(b, 0);
    await app.init();
    await settle();
    expect(b.calls).toContain('machineStart');
    expect(app.machine.running).toBe(true);
    await settle();
    expect(app.containers.items.map((c) => c.name)).toEqual(['shop-web-1']);
    expect(app.images.items).toHaveLength(2);
    app.dispose();
  });

  it('does not start the machine when autostart is off', async () => {
    const b = new MockBackend({ autostart: false });
    const app = new AppState(b, 0);
    await app.init();
    await settle();
    expect(b.calls).not.toContain('machineStart');
  });

  it('refreshes images when a container changes (images show which containers use them)', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    const app = new AppState(b, 0);
    await app.init();
    await settle();
    await b.containerAction('c1', 'remove');
    await settle();
    expect(app.images.items.find((i) => i.id === 'sha256:1111')?.used_by).toEqual([]);
    app.dispose();
  });
});
