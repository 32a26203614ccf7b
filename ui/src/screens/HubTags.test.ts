import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import HubTags from './HubTags.svelte';

describe('HubTags', () => {
  it('lists tags with platforms, size and date; Run, Pull and Layers name the tag', async () => {
    const onrun = vi.fn();
    const onpull = vi.fn();
    const onlayers = vi.fn();
    render(HubTags, { backend: new MockBackend(), repository: 'nginx', machine: 'linux/amd64', onrun, onpull, onlayers });
    const row = (await screen.findByText('1.27-alpine')).closest('tr')!;
    expect(row.textContent).toContain('linux/amd64');
    expect(row.textContent).toContain('linux/arm64/v8');
    expect(row.textContent).toContain('21 MB');
    await fireEvent.click(within(row).getByRole('button', { name: 'Run nginx:1.27-alpine' }));
    expect(onrun).toHaveBeenCalledWith('nginx:1.27-alpine', ['linux/amd64', 'linux/arm64/v8']);
    await fireEvent.click(within(row).getByRole('button', { name: 'Pull nginx:1.27-alpine' }));
    expect(onpull).toHaveBeenCalledWith('nginx:1.27-alpine');
    await fireEvent.click(within(row).getByRole('button', { name: 'Layers of nginx:1.27-alpine' }));
    expect(onlayers).toHaveBeenCalledWith('nginx:1.27-alpine', 'linux/amd64');
  });

  it('warns about tags without a build for the machine', async () => {
    render(HubTags, { backend: new MockBackend(), repository: 'someone/nginx-arm', machine: 'linux/amd64', onrun: vi.fn(), onpull: vi.fn(), onlayers: vi.fn() });
    expect(await screen.findByText('emulated here')).toBeTruthy();
  });

  it('says when the repository is not there', async () => {
    render(HubTags, { backend: new MockBackend(), repository: 'nope', machine: '', onrun: vi.fn(), onpull: vi.fn(), onlayers: vi.fn() });
    expect((await screen.findByRole('alert')).textContent).toContain('not found: repository nope');
  });

  it('loads more tags a page at a time', async () => {
    const b = new MockBackend();
    const base = b.registry.tags.nginx[1];
    for (let i = 0; i < 60; i++) b.registry.tags.nginx.push({ ...base, name: `1.${i}` });
    render(HubTags, { backend: b, repository: 'nginx', machine: 'linux/amd64', onrun: vi.fn(), onpull: vi.fn(), onlayers: vi.fn() });
    const table = await screen.findByRole('table', { name: 'Tags' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 50);
    expect(screen.getByText('The 50 newest of 62 tags')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Load more tags' }));
    expect(await within(table).findByText('1.59')).toBeTruthy();
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 62);
    expect(screen.queryByRole('button', { name: 'Load more tags' })).toBeNull();
  });
});
