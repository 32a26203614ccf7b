import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../lib/backend/backend';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Volumes from './Volumes.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Volumes, { app, ongo: () => {} });
  await settle();
}

describe('Volumes', () => {
  it('says what to do when there are none, then creates one', async () => {
    const b = new MockBackend({ state: 'running' });
    await setup(b);
    expect(screen.getByText('No volumes yet')).toBeTruthy();
    await fireEvent.input(screen.getByLabelText('New volume'), { target: { value: 'data' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    await settle();
    expect(within(screen.getByRole('table', { name: 'Volumes' })).getByText('data')).toBeTruthy();
  });

  it('refuses names Docker would refuse', async () => {
    await setup(new MockBackend({ state: 'running' }));
    await fireEvent.input(screen.getByLabelText('New volume'), { target: { value: '-bad name' } });
    expect((screen.getByRole('button', { name: 'Create' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('guards volumes in use and removes free ones after confirming', async () => {
    const b = new MockBackend({ state: 'running' });
    b.volumes = [
      { name: 'db', driver: 'local', mountpoint: '/v/db', created_at: null, used_by: ['postgres'] },
      { name: 'old', driver: 'local', mountpoint: '/v/old', created_at: null, used_by: [] },
    ];
    await setup(b);
    expect((screen.getByRole('button', { name: 'Remove db' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove old' }));
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Remove' }));
    await settle();
    expect(b.volumes.map((v) => v.name)).toEqual(['db']);
  });
});

describe('Volumes sizes', () => {
  it('shows each size from one system df call, and — while unknown', async () => {
    const b = new MockBackend({ state: 'running' });
    b.volumes = [
      { name: 'db', driver: 'local', mountpoint: '/v/db', created_at: null, used_by: ['postgres'] },
      { name: 'nfs', driver: 'nfs', mountpoint: '', created_at: null, used_by: [] },
    ];
    b.volumeSizes = { db: 52_428_800, nfs: null };
    let release: () => void = () => {};
    const real = b.volumesUsage.bind(b);
    b.volumesUsage = async () => {
      await new Promise<void>((r) => (release = r));
      return real();
    };
    await setup(b);
    const row = (name: string) => document.querySelector<HTMLElement>(`tr[data-volume="${name}"]`)!;
    expect(within(row('db')).getByText('—')).toBeTruthy();
    release();
    await settle();
    expect(within(row('db')).getByText('52 MB')).toBeTruthy();
    expect(within(row('db')).getByText('postgres')).toBeTruthy();
    expect(within(row('nfs')).getByText('—').getAttribute('title')).toMatch(/cannot tell/);
  });

  it('asks once on open, once per Refresh and once per burst of changes, and stops when closed', async () => {
    const b = new MockBackend({ state: 'running' });
    b.volumes = [{ name: 'db', driver: 'local', mountpoint: '/v/db', created_at: null, used_by: [] }];
    const app = new AppState(b, 0);
    await app.init();
    const { unmount } = render(Volumes, { app, ongo: () => {} });
    await settle();
    const count = () => b.calls.filter((c) => c === 'volumesUsage').length;
    expect(count()).toBe(1);
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await settle();
    expect(count()).toBe(2);
    b.emitDocker({ kind: 'volume', action: 'create' });
    b.emitDocker({ kind: 'container', action: 'destroy' });
    b.emitDocker({ kind: 'image', action: 'pull' });
    await settle();
    expect(count()).toBe(3);
    unmount();
    b.emitDocker({ kind: 'volume', action: 'create' });
    await settle();
    expect(count()).toBe(3);
  });

  it('says why sizes could not be read', async () => {
    const b = new MockBackend({ state: 'running' });
    b.volumes = [{ name: 'db', driver: 'local', mountpoint: '/v/db', created_at: null, used_by: [] }];
    b.volumesUsage = async () => {
      throw new BackendError('Docker Engine: a disk usage operation is already running', 'docker');
    };
    await setup(b);
    expect(screen.getByRole('alert').textContent).toContain('Could not read volume sizes: Docker Engine: a disk usage operation');
    expect(within(screen.getByText('db').closest('tr')!).getByText('—')).toBeTruthy();
  });
});
