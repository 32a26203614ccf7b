import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import RegistryBrowser from './RegistryBrowser.svelte';

describe('RegistryBrowser', () => {
  it('lists the catalog, then a repository’s tags with Pull and Layers', async () => {
    const onpull = vi.fn();
    const onlayers = vi.fn();
    render(RegistryBrowser, { backend: new MockBackend(), registry: 'host.docker.internal:5000', canPull: true, onpull, onlayers });
    await fireEvent.click(await screen.findByRole('button', { name: /berth-app-web/ }));
    const tags = await screen.findByRole('list', { name: 'Tags of berth-app-web' });
    await within(tags).findByText('2');
    await fireEvent.click(within(tags).getByRole('button', { name: 'Pull host.docker.internal:5000/berth-app-web:1' }));
    expect(onpull).toHaveBeenCalledWith('host.docker.internal:5000/berth-app-web:1');
    await fireEvent.click(within(tags).getByRole('button', { name: 'Layers of host.docker.internal:5000/berth-app-web:2' }));
    expect(onlayers).toHaveBeenCalledWith('host.docker.internal:5000/berth-app-web:2');
  });

  it('says when the registry cannot be reached', async () => {
    render(RegistryBrowser, { backend: new MockBackend(), registry: '127.0.0.1:1', canPull: false, onpull: vi.fn(), onlayers: vi.fn() });
    expect((await screen.findByRole('alert')).textContent).toContain('cannot reach registry 127.0.0.1:1');
  });
});
