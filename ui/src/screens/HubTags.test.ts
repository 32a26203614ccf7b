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
});
