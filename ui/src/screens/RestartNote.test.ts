import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import RestartNote from './RestartNote.svelte';

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  const ondismiss = vi.fn();
  render(RestartNote, { app, message: 'Added reg.lan:5000 to the machine’s insecure registries.', ondismiss });
  return { app, ondismiss };
}

describe('RestartNote', () => {
  it('asks for a restart while the machine runs, and restarts it', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    const note = screen.getByRole('status', { name: 'Restart needed' });
    expect(note.textContent).toMatch(/Added reg.lan:5000 .* restart the machine to use this/);
    await fireEvent.click(screen.getByRole('button', { name: 'Restart now' }));
    await waitFor(() => expect(note.textContent).toMatch(/The machine restarted/));
    expect(b.calls).toContain('machineRestart');
    expect(screen.queryByRole('button', { name: 'Restart now' })).toBeNull();
  });

  it('says a stopped machine picks it up at its next start', async () => {
    const b = new MockBackend({ state: 'stopped' });
    const { ondismiss } = await setup(b);
    expect(screen.getByRole('status').textContent).toMatch(/applies when the machine next starts/);
    expect(screen.queryByRole('button', { name: 'Restart now' })).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(ondismiss).toHaveBeenCalled();
  });

  it('shows why a restart failed', async () => {
    const b = new MockBackend({ state: 'running', startError: 'the guest did not boot: see the console log' });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Restart now' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/The restart failed: the guest did not boot/);
  });
});
