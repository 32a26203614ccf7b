import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import type { ImageLayer } from '../lib/backend/backend';
import { MockBackend } from '../lib/backend/mock';
import ImageHistory from './ImageHistory.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

function backend() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

const layer = (l: Partial<ImageLayer>): ImageLayer => ({
  id: null, created: Math.floor(Date.now() / 1000) - 3 * 86400, instruction: '', created_by: '', size: 0, tags: [], comment: '', ...l,
});

describe('ImageHistory', () => {
  it('lists each step with its size and age, newest first', async () => {
    const b = backend();
    b.history['sha256:2222'] = [
      layer({ id: 'sha256:2222abcdef0123456789', tags: ['busybox:latest'], instruction: 'CMD ["sh"]', created_by: 'CMD ["sh"]' }),
      layer({ instruction: 'ADD file:abc in /', created_by: '/bin/sh -c #(nop) ADD file:abc in / ', size: 2_100_000 }),
    ];
    render(ImageHistory, { backend: b, id: 'sha256:2222', label: 'busybox:latest' });
    await settle();
    const rows = within(screen.getByRole('table', { name: 'Layers of busybox:latest' })).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('CMD ["sh"]');
    expect(rows[0].textContent).toContain('2222abcdef01');
    expect(rows[0].textContent).toContain('3 days ago');
    expect(within(rows[1]).getByText('2.1 MB')).toBeTruthy();
    // Built elsewhere: no id of its own, explained rather than shown as "<missing>".
    expect(within(rows[1]).getByText('—').getAttribute('title')).toMatch(/Built elsewhere/);
    expect(within(rows[1]).getByText('ADD file:abc in /').getAttribute('title')).toBe('/bin/sh -c #(nop) ADD file:abc in / ');
    expect(screen.getByText(/2 steps, 2.1 MB in all/)).toBeTruthy();
  });

  it('trims long steps and shows them whole on request', async () => {
    const b = backend();
    const long = `RUN /bin/sh -c apt-get update && apt-get install -y ${'package '.repeat(30)}`.trim();
    b.history['sha256:2222'] = [layer({ instruction: long, created_by: `${long} # buildkit`, size: 10 })];
    render(ImageHistory, { backend: b, id: 'sha256:2222', label: 'busybox:latest' });
    await settle();
    const code = screen.getByTitle(`${long} # buildkit`);
    expect(code.textContent!.length).toBeLessThan(long.length);
    expect(code.textContent!.endsWith('…')).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'more' }));
    expect(code.textContent).toBe(long);
    expect(screen.getByRole('button', { name: 'less' }).getAttribute('aria-expanded')).toBe('true');
  });

  it('says why the history could not be read', async () => {
    const b = backend();
    render(ImageHistory, { backend: b, id: 'sha256:gone', label: 'gone:1' });
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('Could not read the history of gone:1: Docker Engine: No such image');
  });
});
