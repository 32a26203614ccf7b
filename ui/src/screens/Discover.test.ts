import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import Discover from './Discover.svelte';

async function setup(b = new MockBackend({ state: 'running' })) {
  const app = new AppState(b, 0);
  await app.init();
  const ongo = vi.fn();
  render(Discover, { app, ongo });
  await tick();
  return { b, ongo };
}

async function submit(term: string) {
  await fireEvent.input(screen.getByLabelText('Search Docker Hub'), { target: { value: term } });
  await fireEvent.click(screen.getByRole('button', { name: 'Search' }));
}

async function search(term: string) {
  await submit(term);
  return screen.findByRole('table', { name: 'Search results' });
}

describe('Discover', () => {
  it('searches Docker Hub and shows names, badges, stars, pulls and descriptions', async () => {
    const { b } = await setup();
    const table = await search('nginx');
    const official = within(table).getByText('nginx').closest('tr')!;
    expect(within(official).getByText('official')).toBeTruthy();
    expect(official.textContent).toContain('20.5k');
    expect(official.textContent).toContain('1.0B');
    expect(official.textContent).toContain('Official build of Nginx.');
    expect(within(within(table).getByText('bitnami/nginx').closest('tr')!).getByText('verified')).toBeTruthy();
    expect(b.registry.calls).toContain('search:nginx');
  });

  it('opens a result’s tags and runs a tag in one click', async () => {
    const { b } = await setup();
    b.exposed = { 'nginx:1.27-alpine': ['80/tcp'] };
    await search('nginx');
    await fireEvent.click(screen.getByRole('button', { name: 'Tags of nginx' }));
    const tags = await screen.findByRole('region', { name: 'Tags of nginx' });
    await fireEvent.click(await within(tags).findByRole('button', { name: 'Run nginx:1.27-alpine' }));
    expect(await screen.findByRole('button', { name: 'Open http://localhost:80' })).toBeTruthy();
    expect(b.containers[0].image).toBe('nginx:1.27-alpine');
  });

  it('pulls a result and explores a tag’s layers without pulling', async () => {
    const { b } = await setup();
    await search('busybox');
    await fireEvent.click(screen.getByRole('button', { name: 'Pull busybox' }));
    await waitFor(() => expect(screen.getByText('Pulled — see Images', { exact: false })).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: 'Layers of busybox' }));
    expect(await screen.findByRole('heading', { name: 'Layers of busybox' })).toBeTruthy();
    await waitFor(() => expect(b.registry.calls).toContain('layers:remote:busybox'));
  });

  it('says when nothing matches, and what went wrong', async () => {
    const { b } = await setup();
    await submit('zzz');
    expect(await screen.findByText('Nothing on Docker Hub matches “zzz”')).toBeTruthy();
    b.registry.search = () => {
      throw new Error('Docker Hub at http://127.0.0.1:9 rate limited us, retry after 42 s');
    };
    await submit('x');
    expect((await screen.findByRole('alert')).textContent).toContain('retry after 42 s');
  });

  it('needs the machine to run or pull, not to search', async () => {
    await setup(new MockBackend());
    await search('nginx');
    expect((screen.getByRole('button', { name: 'Run nginx' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Layers of nginx' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('loads more results a page at a time until Docker Hub has no more', async () => {
    const b = new MockBackend({ state: 'running' });
    for (let i = 0; i < 30; i++) b.registry.repos.push({ ...b.registry.repos[2], name: `fan${i}/nginx-build` });
    await setup(b);
    const table = await search('nginx');
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 25);
    expect(table.querySelector('caption')!.textContent).toContain('The first 25 of 33 results');
    await fireEvent.click(screen.getByRole('button', { name: 'Load more results' }));
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(1 + 33));
    expect(within(table).getByText('fan29/nginx-build')).toBeTruthy();
    expect(b.registry.calls).toContain('search:nginx:page2');
    expect(screen.queryByRole('button', { name: 'Load more results' })).toBeNull();
    expect(table.querySelector('caption')!.textContent).toContain('33 results');
  });

  it('offers no more results when the first page has them all', async () => {
    await setup();
    await search('nginx');
    expect(screen.queryByRole('button', { name: 'Load more results' })).toBeNull();
  });
});
