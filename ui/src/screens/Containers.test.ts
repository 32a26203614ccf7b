import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Containers from './Containers.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(b: MockBackend) {
  const app = new AppState(b, 0);
  await app.init();
  render(Containers, { app, ongo: () => {} });
  await settle();
  return app;
}

function demo() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  b.containers.push({
    id: 'c2', name: 'lonely', image: 'busybox:latest', state: 'exited', status: 'Exited (0) 1 minute ago', created: 1,
    ports: [], compose_project: null, compose_service: null,
  });
  return b;
}

describe('Containers', () => {
  it('says to start the machine when it is stopped', async () => {
    await setup(new MockBackend());
    expect(screen.getByText('The machine is not running')).toBeTruthy();
  });

  it('says what to do when there are none', async () => {
    await setup(new MockBackend({ state: 'running' }));
    expect(screen.getByText('No containers yet')).toBeTruthy();
  });

  it('groups by compose project and links published ports', async () => {
    const b = demo();
    await setup(b);
    const shop = screen.getByRole('table', { name: 'Compose project shop' });
    expect(within(shop).getByText('shop-web-1')).toBeTruthy();
    expect(within(shop).getByRole('link', { name: '8080→80' }).getAttribute('href')).toBe('http://127.0.0.1:8080');
    expect(within(screen.getByRole('table', { name: 'Containers' })).getByText('lonely')).toBeTruthy();
    await fireEvent.click(within(shop).getByRole('link', { name: '8080→80' }));
    expect(b.opened).toEqual(['http://127.0.0.1:8080']);
  });

  it('stops and starts a container', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Stop shop-web-1' }));
    await settle();
    expect(b.calls).toContain('stop:c1');
    await fireEvent.click(screen.getByRole('button', { name: 'Start shop-web-1' }));
    await settle();
    expect(b.calls).toContain('start:c1');
  });

  it('removes only after confirming', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove lonely' }));
    const dialog = screen.getByRole('alertdialog');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(b.containers.some((c) => c.id === 'c2')).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove lonely' }));
    await fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Remove' }));
    await settle();
    expect(b.containers.some((c) => c.id === 'c2')).toBe(false);
    expect(screen.queryByText('lonely')).toBeNull();
  });

  it('opens the logs', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Logs of shop-web-1' }));
    await settle();
    expect(screen.getByRole('log').textContent).toContain('listening on :80');
  });
});

describe('Containers: filter and detail', () => {
  it('filters by name or image and by state', async () => {
    await setup(demo());
    const filter = screen.getByRole('searchbox', { name: 'Filter containers' });
    await fireEvent.input(filter, { target: { value: 'BUSYBOX' } });
    expect(screen.queryByText('shop-web-1')).toBeNull();
    expect(screen.getByText('lonely')).toBeTruthy();
    await fireEvent.input(filter, { target: { value: '' } });
    await fireEvent.change(screen.getByRole('combobox', { name: 'Which containers' }), { target: { value: 'running' } });
    expect(screen.getByText('shop-web-1')).toBeTruthy();
    expect(screen.queryByText('lonely')).toBeNull();
    await fireEvent.input(filter, { target: { value: 'lonely' } });
    expect(screen.getByText('No container matches')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Show all' }));
    expect(screen.getByText('lonely')).toBeTruthy();
    expect(screen.getByText('shop-web-1')).toBeTruthy();
  });

  it('shows CPU and memory of running containers from one reading', async () => {
    await setup(demo());
    await new Promise((r) => setTimeout(r, 350)); // read once the list settles (debounced)
    await tick();
    const cell = (name: string) => document.querySelector(`[data-usage="${name}"]`)?.textContent?.trim();
    expect(cell('shop-web-1')).toMatch(/% · \d+(\.\d)? MB$/);
    expect(cell('lonely')).toBe('—');
  });

  it('opens a container by its name or row, with tabs, and comes back', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'shop-web-1' }));
    await settle();
    expect(screen.getByRole('heading', { name: 'shop-web-1' })).toBeTruthy();
    expect(screen.getByRole('tab', { name: 'Logs' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByRole('log').textContent).toContain('listening on :80');
    await fireEvent.click(screen.getByRole('tab', { name: 'Inspect' }));
    await settle();
    expect(screen.getByRole('table', { name: 'Environment' })).toBeTruthy();
    expect(b.calls).toContain('stopLogs:1'); // the logs stream stops when its tab closes
    await fireEvent.click(screen.getByRole('button', { name: 'Back to containers' }));
    await fireEvent.click(screen.getByText('busybox:latest')); // a click anywhere on the row
    await settle();
    expect(screen.getByRole('heading', { name: 'lonely' })).toBeTruthy();
  });

  it('opens the terminal of a running container and hangs up when the detail closes', async () => {
    const b = demo();
    await setup(b);
    await fireEvent.click(screen.getByRole('button', { name: 'Terminal in shop-web-1' }));
    expect(screen.getByRole('tab', { name: 'Terminal' }).getAttribute('aria-selected')).toBe('true');
    // xterm.js is loaded on the first visit to the tab.
    await waitFor(() => expect(b.terminals.size).toBe(1), { timeout: 10_000 });
    // Other tabs keep the shell; closing the view hangs it up.
    await fireEvent.click(screen.getByRole('tab', { name: 'Stats' }));
    await settle();
    expect(b.terminals.size).toBe(1);
    expect(screen.getByRole('img', { name: 'CPU use over the last minute' })).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Back to containers' }));
    expect(b.terminals.size).toBe(0);
    expect(b.calls.some((c) => c.startsWith('stopStats:'))).toBe(true);
  });

  it('marks containers that run emulated', async () => {
    const b = demo();
    b.containers[0].emulated = true;
    await setup(b);
    const row = screen.getByText('shop-web-1').closest('tr')!;
    expect(within(row).getByText('emulated')).toBeTruthy();
    expect(within(screen.getByText('lonely').closest('tr')!).queryByText('emulated')).toBeNull();
  });
});
