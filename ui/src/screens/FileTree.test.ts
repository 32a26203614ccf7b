import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { FileChange } from '../lib/backend/backend';
import { buildTree } from '../lib/layer-tree';
import FileTree from './FileTree.svelte';

const f = (path: string, size: number, change: FileChange['change'] = 'added'): FileChange => ({ path, change, kind: 'file', size });

describe('FileTree', () => {
  it('renders a directory only when it is opened, and marks deletions', async () => {
    const { container } = render(FileTree, { node: buildTree([f('app/a.txt', 10), f('app/b.txt', 20), f('old.log', 99, 'deleted')]) });
    expect(screen.queryByText('a.txt')).toBeNull();
    expect(container.querySelector('[data-path="old.log"] .change')!.textContent).toBe('−');
    await fireEvent.click(screen.getByRole('button', { name: 'Expand app' }));
    expect(screen.getByText('a.txt')).toBeTruthy();
    expect(container.querySelector('[data-path="app"]')!.getAttribute('aria-expanded')).toBe('true');
  });

  it('shows a page of a large directory at a time', async () => {
    const files = Array.from({ length: 5000 }, (_, i) => f(`big/file${i}`, i));
    const { container } = render(FileTree, { node: buildTree(files), open: true });
    expect(container.querySelectorAll('[data-path^="big/"]').length).toBe(200);
    await fireEvent.click(screen.getByRole('button', { name: /Show 1000 more of 4800/ }));
    expect(container.querySelectorAll('[data-path^="big/"]').length).toBe(1200);
  });
});
