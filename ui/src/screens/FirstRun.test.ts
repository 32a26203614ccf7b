import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { FIRST_RUN_DISMISSED_KEY } from '../lib/prefs';
import { AppState } from '../lib/stores/app.svelte';
import FirstRun from './FirstRun.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(b: MockBackend, ongo = vi.fn()) {
  const app = new AppState(b, 0);
  await app.init();
  render(FirstRun, { app, ongo });
  await settle();
  return { app, ongo };
}

// A registry on this computer, as the app's tests use (BERTH_FIRST_IMAGE in the real app).
const LOCAL_IMAGE = '127.0.0.1:5000/berth-test/hello:1';

describe('FirstRun', () => {
  afterEach(() => localStorage.clear());

  it('shows virtualization and disk before the machine has run, and waits for it to run', async () => {
    await setup(new MockBackend());
    const card = screen.getByRole('region', { name: 'Getting started' });
    expect(within(card).getByText(/\/dev\/kvm is usable/)).toBeTruthy();
    expect(within(card).getByText(/can grow to 64 GiB/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Pull and run' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/Start the machine first/)).toBeTruthy();
  });

  it('says when the machine emulates the CPU, and why', async () => {
    await setup(new MockBackend({ state: 'running' }));
    const item = document.querySelector('[data-finding="virtualization"]')!;
    expect(item.className).toContain('warn');
    expect(item.textContent).toContain('emulating the CPU');
    expect(item.textContent).toContain('/dev/kvm cannot boot Linux here');
  });

  it('pulls the suggested image and opens the run form, then shows the containers', async () => {
    const b = new MockBackend({ state: 'running' });
    b.admin.suggestedImage = LOCAL_IMAGE;
    b.exposed[LOCAL_IMAGE] = ['80/tcp'];
    const { ongo } = await setup(b);
    const input = screen.getByLabelText('Run your first container') as HTMLInputElement;
    expect(input.value).toBe(LOCAL_IMAGE);
    await fireEvent.click(screen.getByRole('button', { name: 'Pull and run' }));
    const dialog = await waitFor(() => screen.getByRole('dialog'));
    expect(b.images.some((i) => i.tags.includes(LOCAL_IMAGE))).toBe(true);
    expect(dialog.textContent).toContain(LOCAL_IMAGE);
    await waitFor(() => expect((screen.getByLabelText('Host port for 80/tcp') as HTMLInputElement).value).toBe('8080'));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(ongo).toHaveBeenCalledWith('containers'));
    expect(b.calls).toContain(`run:${LOCAL_IMAGE}`);
  });

  it('shows why the pull failed', async () => {
    const b = new MockBackend({ state: 'running' });
    b.pullImage = async () => Promise.reject({ kind: 'docker', message: 'Docker Engine: manifest unknown' });
    await setup(b);
    await fireEvent.input(screen.getByLabelText('Run your first container'), { target: { value: 'registry.local/nope:1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Pull and run' }));
    await waitFor(() => screen.getByRole('alert'));
    expect(screen.getByRole('alert').textContent).toContain('Could not pull registry.local/nope:1: Docker Engine: manifest unknown');
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('stays hidden once dismissed', async () => {
    await setup(new MockBackend());
    await fireEvent.click(screen.getByRole('button', { name: 'Hide getting started' }));
    expect(screen.queryByRole('region', { name: 'Getting started' })).toBeNull();
    expect(localStorage.getItem(FIRST_RUN_DISMISSED_KEY)).toBe('1');
  });

  it('does not show on a machine that already has containers or images', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    await setup(b);
    await settle();
    expect(screen.queryByRole('region', { name: 'Getting started' })).toBeNull();
  });
});
