import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { PullStore } from '../lib/stores/pulls.svelte';
import PullPanel from './PullPanel.svelte';

describe('PullPanel', () => {
  it('shows per-layer progress while pulling, then the result', async () => {
    const b = new MockBackend({ state: 'running', delay: 20 });
    const pulls = new PullStore(b);
    pulls.start();
    render(PullPanel, { pulls });
    await fireEvent.input(screen.getByLabelText('Pull an image'), { target: { value: 'busybox:1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Pull' }));
    await new Promise((r) => setTimeout(r, 5));
    await tick();
    expect(screen.getByLabelText('Layer aaa111')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 200));
    await tick();
    expect(screen.getByLabelText('Pull of busybox:1').dataset.state).toBe('done');
    expect(screen.getByText('Pulled')).toBeTruthy();
  });

  it('says why a pull failed', async () => {
    const pulls = new PullStore(new MockBackend());
    render(PullPanel, { pulls });
    await fireEvent.input(screen.getByLabelText('Pull an image'), { target: { value: 'x' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Pull' }));
    await new Promise((r) => setTimeout(r, 5));
    await tick();
    expect(screen.getByRole('alert').textContent).toMatch(/not running/);
  });
});
