import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Registries from './Registries.svelte';

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Registries, { app, ongo: vi.fn() });
  await tick();
}

describe('Registries', () => {
  it('lists the machine’s registries with their logins, and logs out', async () => {
    const b = new MockBackend({ state: 'running' });
    b.admin.settings.insecure_registries = ['host.docker.internal:5000'];
    b.registry.logins = { 'docker.io': 'ann' };
    await setup(b);
    const table = await screen.findByRole('table', { name: 'Registries' });
    const local = within(table).getByText('host.docker.internal:5000').closest('tr')!;
    expect(within(local).getByText('insecure')).toBeTruthy();
    const hub = within(table).getByText('docker.io').closest('tr')!;
    expect(within(hub).getByText('logged in as ann')).toBeTruthy();
    await fireEvent.click(within(hub).getByRole('button', { name: 'Log out of docker.io' }));
    expect(await screen.findByText(/Logged out of docker.io/)).toBeTruthy();
    expect(b.registry.logins).toEqual({});
  });

  it('logs in to a listed registry and browses it', async () => {
    const b = new MockBackend({ state: 'running' });
    b.admin.settings.insecure_registries = ['host.docker.internal:5000'];
    await setup(b);
    await fireEvent.click(await screen.findByRole('button', { name: 'Log in to host.docker.internal:5000' }));
    await fireEvent.input(screen.getByLabelText('Username'), { target: { value: 'ann' } });
    await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 's3cret' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(screen.getByText('logged in as ann')).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: 'Browse host.docker.internal:5000' }));
    expect(await screen.findByRole('button', { name: /tools/ })).toBeTruthy();
  });

  it('browses a registry by address and says when logins cannot be listed', async () => {
    const b = new MockBackend();
    b.registry.keyringError = 'no keyring answers: install and start gnome-keyring';
    b.registry.catalogs['reg.lan:5000'] = { app: ['1'] };
    await setup(b);
    expect((await screen.findByRole('alert')).textContent).toContain('no keyring answers');
    await fireEvent.input(screen.getByLabelText('Browse a registry'), { target: { value: 'reg.lan:5000' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Browse' }));
    expect(await screen.findByRole('region', { name: 'Catalog of reg.lan:5000' })).toBeTruthy();
    expect(await screen.findByRole('button', { name: /app/ })).toBeTruthy();
  });
});
