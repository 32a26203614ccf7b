import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Settings from './Settings.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Settings, { app });
  await settle();
  return app;
}

const set = (label: RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });

describe('Settings', () => {
  afterEach(() => {
    localStorage.clear();
    delete document.documentElement.dataset.theme;
  });

  it('validates with the api ranges beside the field and blocks applying', async () => {
    await setup(new MockBackend({ state: 'running' }));
    await set(/^CPUs/, '0');
    expect(screen.getByText('cpus must be between 1 and 64 (got 0)')).toBeTruthy();
    expect(screen.getByLabelText(/^CPUs/).getAttribute('aria-invalid')).toBe('true');
    expect((screen.getByRole('button', { name: 'Apply & restart' }) as HTMLButtonElement).disabled).toBe(true);
    await set(/^Memory/, '100');
    expect(screen.getByText('memory must be between 512 and 262144 MiB (got 100 MiB)')).toBeTruthy();
  });

  it('applies and restarts a running machine, showing progress', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await set(/^CPUs/, '4');
    const input = screen.getByLabelText('Add to Insecure registries');
    await fireEvent.input(input, { target: { value: '10.0.2.2:5000' } });
    await fireEvent.keyDown(input, { key: 'Enter' });
    await fireEvent.click(screen.getByRole('button', { name: 'Apply & restart' }));
    await tick();
    expect(screen.getByRole('button', { name: 'Saving…' })).toBeTruthy();
    await waitFor(() => expect(screen.getByText(/Applied: the machine restarted/)).toBeTruthy());
    expect(b.calls).toEqual(expect.arrayContaining(['saveSettings', 'machineRestart']));
    expect(b.calls.indexOf('saveSettings')).toBeLessThan(b.calls.indexOf('machineRestart'));
    expect(b.admin.settings.cpus).toBe(4);
    expect(b.admin.settings.insecure_registries).toEqual(['10.0.2.2:5000']);
    expect(screen.getByText(/Applied: the machine restarted/)).toBeTruthy();
  });

  it('saves without restarting a stopped machine', async () => {
    const b = new MockBackend();
    await setup(b);
    await set(/^Disk size/, '100');
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(b.calls).toContain('saveSettings'));
    await settle();
    expect(b.calls).not.toContain('machineRestart');
    expect(screen.getByText('Saved. They apply when the machine starts.')).toBeTruthy();
  });

  it('shows the backend refusal next to its field', async () => {
    const b = new MockBackend({ state: 'running' });
    b.admin.hostMemoryMib = 8192;
    await setup(b);
    await set(/^Memory/, '16384');
    await fireEvent.click(screen.getByRole('button', { name: 'Apply & restart' }));
    await waitFor(() => screen.getByText(/more than this computer has/));
    expect(screen.getByText(/memory 16384 MiB is more than this computer has \(8192 MiB\)/)).toBeTruthy();
    expect(screen.getByLabelText(/^Memory/).getAttribute('aria-invalid')).toBe('true');
    expect(b.calls).not.toContain('machineRestart');
  });

  it('never offers to shrink the disk', async () => {
    const b = new MockBackend();
    b.admin.diskNowGib = 64;
    await setup(b);
    await set(/^Disk size/, '32');
    expect(screen.getByText(/is 64 GiB and cannot shrink to 32 GiB/)).toBeTruthy();
  });

  it('switches the theme and remembers it', async () => {
    await setup(new MockBackend());
    await fireEvent.click(screen.getByRole('radio', { name: 'Dark' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('berth.theme')).toBe('dark');
    await fireEvent.click(screen.getByRole('radio', { name: 'System' }));
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it('turns starting at login on', async () => {
    const b = new MockBackend();
    await setup(b);
    const box = screen.getByRole('checkbox', { name: 'Start Berth when you log in' }) as HTMLInputElement;
    expect(box.checked).toBe(false);
    await fireEvent.click(box);
    await settle();
    expect(b.calls).toContain('setLoginItem:true');
    expect(box.checked).toBe(true);
  });
});
