import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { BackendError } from '../lib/backend/backend';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Images from './Images.svelte';

const settle = async (ms = 5) => {
  await new Promise((r) => setTimeout(r, ms));
  await tick();
};

async function setup(b: MockBackend, ongo = vi.fn()) {
  const app = new AppState(b, 0);
  await app.init();
  render(Images, { app, ongo });
  await settle();
  return { app, ongo };
}

function demo() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

describe('Images', () => {
  it('lists images with size and use', async () => {
    await setup(demo());
    const row = screen.getByText('registry.local/web:1.0').closest('tr')!;
    expect(within(row).getByText('12 MB')).toBeTruthy();
    expect(within(row).getByText('shop-web-1')).toBeTruthy();
  });

  it('guards removing an image in use and removes an unused one after confirming', async () => {
    const b = demo();
    await setup(b);
    const used = screen.getByRole('button', { name: 'Remove registry.local/web:1.0' }) as HTMLButtonElement;
    expect(used.disabled).toBe(true);
    expect(used.title).toMatch(/remove those containers first/);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove busybox:latest' }));
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Remove' }));
    await settle();
    expect(b.images.map((i) => i.tags[0])).toEqual(['registry.local/web:1.0']);
  });

  it('pulls and lists the new image', async () => {
    await setup(demo());
    await fireEvent.input(screen.getByLabelText('Pull an image'), { target: { value: 'alpine:3' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Pull' }));
    await new Promise((r) => setTimeout(r, 50));
    await tick();
    expect(within(screen.getByRole('table', { name: 'Images' })).getByText('alpine:3')).toBeTruthy();
  });

  it('runs an image and goes to Containers', async () => {
    const b = demo();
    const { ongo } = await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Run registry.local/web:1.0' }));
    await settle();
    await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await settle();
    expect(b.calls).toContain('run:registry.local/web:1.0');
    expect(ongo).toHaveBeenCalledWith('containers');
  });

  it('says to start the machine when it is stopped', async () => {
    await setup(new MockBackend());
    expect(screen.getByText('The machine is not running')).toBeTruthy();
  });

  it('prunes dangling images after saying which go, then reports what Docker reclaimed', async () => {
    const b = demo();
    b.images.push({ id: 'sha256:3333', tags: [], size: 48_000_000, created: 1_680_000_000, used_by: [] });
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Prune unused images…' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('1 image (up to 48 MB');
    expect(dialog.textContent).toContain('<none> 3333');
    expect(dialog.textContent).not.toContain('busybox');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Prune' }));
    await settle();
    expect(b.calls).toContain('prune:dangling');
    expect(screen.getByRole('status').textContent).toContain('Reclaimed 48 MB (1 image)');
    expect(b.images.map((i) => i.tags[0])).toEqual(['registry.local/web:1.0', 'busybox:latest']);
  });

  it('prunes every unused image with the option, keeping those containers use', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Prune unused images…' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('no dangling');
    await fireEvent.click(within(dialog).getByLabelText(/Also unused tagged images/));
    expect(dialog.textContent).toContain('busybox:latest');
    expect(dialog.textContent).not.toContain('registry.local/web:1.0');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Prune' }));
    await settle();
    expect(b.calls).toContain('prune:all');
    expect(screen.getByRole('status').textContent).toContain('Reclaimed 2.1 MB (1 image)');
    expect(b.images.map((i) => i.tags[0])).toEqual(['registry.local/web:1.0']);
  });

  it('cancelling a prune removes nothing', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Prune unused images…' }));
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(b.calls.some((c) => c.startsWith('prune'))).toBe(false);
  });

  it('says why a prune failed', async () => {
    const b = demo();
    b.pruneImages = async () => {
      throw new BackendError('Docker Engine: a prune operation is already running', 'docker');
    };
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Prune unused images…' }));
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Prune' }));
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('Could not prune images: Docker Engine: a prune operation is already running');
  });

  it('opens and closes an image history below its row', async () => {
    const b = demo();
    await setup(b);
    const button = screen.getByRole('button', { name: 'History of busybox:latest' });
    await fireEvent.click(button);
    await settle();
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const layers = screen.getByRole('table', { name: 'Layers of busybox:latest' });
    expect(within(layers).getByText(/apk add --no-cache curl/)).toBeTruthy();
    expect(b.calls).toContain('history:sha256:2222');
    await fireEvent.click(button);
    expect(screen.queryByRole('table', { name: 'Layers of busybox:latest' })).toBeNull();
  });

  it('opens the layer explorer for a local image and goes back', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Layers of busybox:latest' }));
    expect(await screen.findByRole('table', { name: 'Layers' })).toBeTruthy();
    expect(b.registry.calls).toContain('layers:local:busybox:latest');
    await fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    expect(screen.getByRole('table', { name: 'Images' })).toBeTruthy();
  });

  it('pushes an image to a registry and lists its new name', async () => {
    const b = demo();
    b.admin.settings.insecure_registries = ['host.docker.internal:5000'];
    b.registry.logins['host.docker.internal:5000'] = 'ann';
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Push busybox:latest' }));
    const dialog = screen.getByRole('dialog');
    await settle();
    expect((within(dialog).getByLabelText('Repository and tag') as HTMLInputElement).value).toBe('busybox:latest');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Push' }));
    await settle(20);
    expect(dialog.dataset.phase).toBe('done');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(within(screen.getByRole('table', { name: 'Images' })).getByText('host.docker.internal:5000/busybox:latest')).toBeTruthy();
  });

  it('removes an image with several names name by name', async () => {
    const b = demo();
    b.images[1].tags.push('host.docker.internal:5000/busybox:latest');
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove busybox:latest' }));
    expect(within(screen.getByRole('alertdialog')).getByText(/with all its names: busybox:latest, host\.docker\.internal:5000\/busybox:latest/)).toBeTruthy();
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Remove' }));
    await settle();
    expect(b.images.map((i) => i.id)).toEqual(['sha256:1111']);
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
