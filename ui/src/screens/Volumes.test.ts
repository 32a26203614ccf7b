import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
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
