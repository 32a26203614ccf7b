import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Troubleshoot from './Troubleshoot.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Troubleshoot, { app });
  await settle();
  return app;
}

describe('Troubleshoot', () => {
  it('shows the checks and the daemon log', async () => {
    await setup(new MockBackend({ state: 'running' }));
    expect(screen.getByText('No problems found')).toBeTruthy();
    expect(screen.getByText(/emulating the CPU/)).toBeTruthy();
    expect(screen.getByLabelText('daemon log').textContent).toContain('is ready');
  });

  it('restarts the machine', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Restart machine' }));
    await waitFor(() => expect(screen.getByText('The machine restarted.')).toBeTruthy());
    expect(b.calls).toContain('machineRestart');
  });

  it('says exactly what a reset loses, and cancelling keeps everything', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Reset machine…' }));
    await settle();
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('every image, container and volume');
    expect(dialog.textContent).toContain('1.3 GB on disk now');
    expect(dialog.textContent).toContain('Kept: the settings');
    expect(dialog.textContent).toContain('/home/you/.local/share/berth/machines/default');
    expect(document.activeElement?.textContent).toBe('Cancel');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(b.calls).not.toContain('machineReset');
    expect(b.images).toHaveLength(2);
  });

  it('resets after confirming: stopped, empty, settings kept', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    b.admin.settings.cpus = 6;
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Reset machine…' }));
    await settle();
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Reset machine' }));
    await waitFor(() => expect(screen.getByText(/The machine was reset/)).toBeTruthy());
    expect(b.calls).toContain('machineReset');
    expect(b.images).toEqual([]);
    expect(b.admin.settings.cpus).toBe(6);
    expect(screen.getByText(/The machine was reset/)).toBeTruthy();
    expect(screen.getByText('stopped')).toBeTruthy();
  });

  it('shows why a reset failed', async () => {
    const b = new MockBackend({ state: 'running' });
    b.machineReset = async () => Promise.reject({ kind: 'invalid', message: 'the machine is running; stop it first (`berth stop`)' });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Reset machine…' }));
    await settle();
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Reset machine' }));
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('Could not reset the machine: the machine is running');
  });
});
