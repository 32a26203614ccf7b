import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Registries from './Registries.svelte';

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  const view = render(Registries, { app, ongo: vi.fn() });
  await tick();
  return { app, view };
}

/** Opens "Add registry…", types `address`, ticks Plain HTTP when `insecure`, and submits. */
async function add(address: string, insecure = false) {
  await fireEvent.click(await screen.findByRole('button', { name: 'Add registry…' }));
  const form = screen.getByRole('form', { name: 'Add a registry' });
  await fireEvent.input(within(form).getByLabelText('Registry address'), { target: { value: address } });
  if (insecure) await fireEvent.click(within(form).getByLabelText('Plain HTTP (insecure)'));
  await fireEvent.click(within(form).getByRole('button', { name: 'Add' }));
}

const row = (registry: string) => screen.queryByRole('table', { name: 'Registries' })?.querySelector(`tr[data-registry="${registry}"]`) ?? null;

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

  it('adds an HTTPS registry that stays listed when the list is read again, and removes it', async () => {
    const b = new MockBackend({ state: 'running' });
    const { app, view } = await setup(b);
    await add('ghcr.io');
    expect(await screen.findByText('Added ghcr.io: it stays listed here, and Push… offers it.')).toBeTruthy();
    await waitFor(() => expect(row('ghcr.io')).toBeTruthy());
    expect(screen.queryByRole('form', { name: 'Add a registry' })).toBeNull();
    expect(b.calls).not.toContain('saveSettings');
    expect(within(row('ghcr.io') as HTMLElement).queryByText('insecure')).toBeNull();
    // The screen closes and opens again (the app restarting reads the same preferences).
    view.unmount();
    render(Registries, { app, ongo: vi.fn() });
    await waitFor(() => expect(row('ghcr.io')).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: 'Remove ghcr.io' }));
    expect(await screen.findByText('Removed ghcr.io.')).toBeTruthy();
    await waitFor(() => expect(row('ghcr.io')).toBeNull());
    expect(b.registry.known).toEqual([]);
  });

  it('adds an insecure registry to the settings and offers the restart', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await add('reg.lan:5000', true);
    const note = await screen.findByRole('status', { name: 'Restart needed' });
    expect(note.textContent).toMatch(/Added reg.lan:5000 to the machine's insecure registries\. .*restart the machine/);
    expect(b.admin.settings.insecure_registries).toEqual(['reg.lan:5000']);
    await waitFor(() => expect(within(row('reg.lan:5000') as HTMLElement).getByText('insecure')).toBeTruthy());
    await fireEvent.click(within(note).getByRole('button', { name: 'Restart now' }));
    await waitFor(() => expect(note.textContent).toMatch(/The machine restarted/));
    expect(b.calls).toContain('machineRestart');
  });

  it('says a stopped machine applies a removed insecure registry at its next start', async () => {
    const b = new MockBackend({ state: 'stopped' });
    b.admin.settings.insecure_registries = ['host.docker.internal:5000'];
    await setup(b);
    await fireEvent.click(await screen.findByRole('button', { name: 'Remove host.docker.internal:5000' }));
    const note = await screen.findByRole('status', { name: 'Restart needed' });
    expect(note.textContent).toMatch(/Removed host.docker.internal:5000 from the machine's insecure registries\. It applies when the machine next starts\./);
    expect(within(note).queryByRole('button', { name: 'Restart now' })).toBeNull();
    expect(b.admin.settings.insecure_registries).toEqual([]);
    expect(await screen.findByText('No registries yet')).toBeTruthy();
  });

  it('refuses an invalid address and saves nothing', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    await add('reg.lan/v2', true);
    expect((await screen.findByRole('alert')).textContent).toMatch(/insecure registry "reg.lan\/v2" must be host\[:port\] without a scheme/);
    expect(b.calls).not.toContain('saveSettings');
    expect(b.registry.known).toEqual([]);
    expect(screen.getByRole('form', { name: 'Add a registry' })).toBeTruthy();
  });

  it('offers no Remove for mirrors or logins, which Settings and Log out handle', async () => {
    const b = new MockBackend();
    b.admin.settings.registry_mirrors = ['https://mirror.lan'];
    b.registry.logins = { 'docker.io': 'ann' };
    await setup(b);
    await waitFor(() => expect(row('docker.io')).toBeTruthy());
    expect(screen.queryByRole('button', { name: /^Remove / })).toBeNull();
  });
});
