import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import QuickRunPanel from './QuickRunPanel.svelte';

function backend() {
  const b = new MockBackend({ state: 'running' });
  b.exposed = { 'nginx:1.27-alpine': ['80/tcp'] };
  b.logs = {};
  return b;
}

describe('QuickRunPanel', () => {
  it('pulls, starts with a free port, offers to open it and shows the first log lines', async () => {
    const b = backend();
    b.registry.busyPorts.add(80);
    const region = () => screen.getByRole('region', { name: 'Run nginx:1.27-alpine' });
    render(QuickRunPanel, { backend: b, reference: 'nginx:1.27-alpine', platforms: ['linux/amd64'], onclose: () => {}, ongo: () => {} });
    const open = await screen.findByRole('button', { name: 'Open http://localhost:8080' });
    expect(region().textContent).toContain('Starting with ports 8080 → 80/tcp');
    expect(b.containers[0].image).toBe('nginx:1.27-alpine');
    expect(b.containers[0].emulated).toBe(false);
    await fireEvent.click(open);
    expect(b.opened).toEqual(['http://localhost:8080']);
    await waitFor(() => {
      b.emitLog({ stream_id: 1, lines: [{ stream: 'stdout', text: 'ready on :80' }] });
      expect(within(region()).getByRole('log').textContent).toContain('ready on :80');
    });
  });

  it('asks before running an image for another architecture, and marks it emulated', async () => {
    const b = backend();
    render(QuickRunPanel, { backend: b, reference: 'someone/nginx-arm', platforms: ['linux/arm/v7'], onclose: () => {}, ongo: () => {} });
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.textContent).toContain('built for linux/arm/v7, and this machine runs linux/amd64');
    expect(b.containers).toHaveLength(0);
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Run emulated' }));
    await screen.findByText('emulated');
    expect(b.containers[0].emulated).toBe(true);
  });

  it('confirms when the engine finds the mismatch itself, and cancelling runs nothing', async () => {
    const b = backend();
    const onclose = vi.fn();
    render(QuickRunPanel, { backend: b, reference: 'someone/nginx-arm', onclose, ongo: () => {} });
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.textContent).toContain('confirm to run it anyway');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(onclose).toHaveBeenCalled();
    expect(b.containers).toHaveLength(0);
  });

  it('shows why a run failed', async () => {
    render(QuickRunPanel, { backend: new MockBackend(), reference: 'nginx', onclose: () => {}, ongo: () => {} });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('the machine is not running'));
  });
});
