import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Images from './Images.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
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
});
