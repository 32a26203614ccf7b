import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Home from './Home.svelte';

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Home, { app });
  return app;
}

describe('Home', () => {
  it('starts a stopped machine and shows the backend and why', async () => {
    const b = new MockBackend();
    await setup(b);
    expect(screen.getByText('stopped')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(b.calls).toContain('machineStart');
    expect(screen.getByText('running')).toBeTruthy();
    expect(screen.getByText('QEMU emulating the CPU (TCG)')).toBeTruthy();
    expect(screen.getByText(/cannot boot Linux here/)).toBeTruthy();
    expect(screen.getByText(/Docker Engine 26.1.5/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Start' })).toBeNull();
  });

  it('shows why starting failed and what to do', async () => {
    const b = new MockBackend({ startError: 'qemu-system-x86_64 is not installed; run scripts/setup' });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(screen.getByRole('alert').textContent).toContain('qemu-system-x86_64 is not installed');
    expect(screen.getByText(/berth doctor/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Start' })).toBeTruthy();
  });

  it('stops a running machine', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(b.calls).toContain('machineStop');
    expect(screen.getByText('stopped')).toBeTruthy();
  });
});
