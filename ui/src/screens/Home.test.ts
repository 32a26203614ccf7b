import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { fakeUsage } from '../lib/backend/mock-usage';
import { FIRST_RUN_DISMISSED_KEY } from '../lib/prefs';
import { AppState } from '../lib/stores/app.svelte';
import Home from './Home.svelte';

async function setup(b: MockBackend, ongo?: (s: string) => void) {
  const app = new AppState(b, 0);
  await app.init();
  render(Home, { app, ongo });
  return app;
}

describe('Home', () => {
  // The machine panel; the first-run card has its own tests (FirstRun.test.ts) and one below.
  beforeEach(() => localStorage.setItem(FIRST_RUN_DISMISSED_KEY, '1'));
  afterEach(() => localStorage.clear());

  it('shows the getting-started card on a first run', async () => {
    localStorage.clear();
    await setup(new MockBackend());
    await new Promise((r) => setTimeout(r, 5));
    await tick();
    expect(screen.getByRole('region', { name: 'Getting started' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Pull and run' })).toBeTruthy();
  });

  it('points a failed start at Troubleshoot', async () => {
    const ongo = vi.fn();
    await setup(new MockBackend({ startError: 'passt is not installed' }), ongo);
    await fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    await new Promise((r) => setTimeout(r, 10));
    await tick();
    await fireEvent.click(screen.getByRole('button', { name: 'Troubleshoot' }));
    expect(ongo).toHaveBeenCalledWith('troubleshoot');
  });

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

  it('shows live CPU, memory and disk use while the machine runs', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await new Promise((r) => setTimeout(r, 5));
    await tick();
    const memory = screen.getByRole('meter', { name: 'Memory' });
    expect(Number(memory.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    expect(screen.getByRole('meter', { name: 'CPU' }).getAttribute('aria-valuenow')).toBeNull();
    b.emitUsage({ ...fakeUsage(4), cpu_percent: 37 });
    await tick();
    expect(screen.getByRole('meter', { name: 'CPU' }).getAttribute('aria-valuenow')).toBe('37');
    expect(screen.getByText(/VM process on this computer: \d+ MiB/)).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(screen.queryByRole('region', { name: 'Machine usage' })).toBeNull();
  });
});
