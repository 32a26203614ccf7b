import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import { AppState } from '../lib/stores/app.svelte';
import ContainerDetail from './ContainerDetail.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

async function setup(initialTab: 'logs' | 'inspect' | 'stats' = 'logs') {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  const app = new AppState(b, 0);
  await app.init();
  await settle();
  const onclose = vi.fn();
  render(ContainerDetail, { app, id: 'c1', initialTab, onclose });
  await settle();
  return { b, app, onclose };
}

describe('ContainerDetail', () => {
  it('shows the container with its state and the chosen tab', async () => {
    await setup('inspect');
    expect(screen.getByRole('heading', { name: 'shop-web-1' })).toBeTruthy();
    expect(document.querySelector('[data-state="running"]')).toBeTruthy();
    expect(screen.getByRole('tab', { name: 'Inspect' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByRole('tabpanel', { name: 'Inspect' })).toBeTruthy();
  });

  it('moves between tabs with the arrow keys, running only the visible one', async () => {
    const { b } = await setup('logs');
    await fireEvent.keyDown(screen.getByRole('tab', { name: 'Logs' }), { key: 'ArrowLeft' });
    await settle();
    expect(screen.getByRole('tab', { name: 'Stats' }).getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement?.id).toBe('tab-stats');
    expect(b.calls).toContain('stopLogs:1');
    await fireEvent.keyDown(screen.getByRole('tab', { name: 'Stats' }), { key: 'Home' });
    await settle();
    expect(screen.getByRole('tab', { name: 'Logs' }).getAttribute('aria-selected')).toBe('true');
    expect(b.calls.some((c) => c.startsWith('stopStats:'))).toBe(true);
  });

  it('says when the container was removed, and goes back', async () => {
    const { b, app, onclose } = await setup('stats');
    await b.containerAction('c1', 'remove');
    await app.containers.refresh();
    await tick();
    expect(screen.getByText('This container was removed')).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'shop-web-1' })).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Back to the containers' }));
    expect(onclose).toHaveBeenCalled();
  });
});
