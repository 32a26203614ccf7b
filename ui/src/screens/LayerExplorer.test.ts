import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import LayerExplorer from './LayerExplorer.svelte';

const running = () => new MockBackend({ state: 'running' });

describe('LayerExplorer', () => {
  it('shows each layer with its step, the totals and the wasted paths, largest first', async () => {
    const b = running();
    const { container } = render(LayerExplorer, { backend: b, image: 'web:1', source: 'local', onclose: () => {} });
    const layers = await screen.findByRole('table', { name: 'Layers' });
    expect(within(layers).getByText('RUN apk add --no-cache curl')).toBeTruthy();
    expect(container.querySelector('[data-total="wasted"]')!.textContent).toMatch(/^2\.4 MB \(\d+\.\d %\)$/);
    const wasted = within(screen.getByRole('table', { name: 'Wasted paths' })).getAllByRole('row');
    expect(wasted[0].textContent).toContain('/var/cache/apk/APKINDEX.tar.gz');
    expect(b.registry.calls).toContain('layers:local:web:1');
  });

  it('opens the files of the chosen layer, with what it deleted', async () => {
    render(LayerExplorer, { backend: running(), image: 'web:1', source: 'remote', onclose: () => {} });
    await screen.findByRole('table', { name: 'Layers' });
    await fireEvent.click(screen.getByRole('button', { name: 'RUN rm -rf /var/cache/apk' }));
    const files = screen.getByRole('region', { name: 'Files of layer 2' });
    expect(within(files).getByText('− 1 deleted')).toBeTruthy();
    // The largest directory is open from the start; the others open on request.
    expect(within(files).getByRole('button', { name: 'Collapse var/cache' })).toBeTruthy();
    expect(within(files).getByText('apk/')).toBeTruthy();
  });

  it('says what went wrong, and Back closes it', async () => {
    const b = new MockBackend();
    const onclose = vi.fn();
    render(LayerExplorer, { backend: b, image: 'web:1', source: 'local', onclose });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('the machine is not running'));
    await fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    expect(onclose).toHaveBeenCalled();
  });
});
