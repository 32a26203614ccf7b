import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from './lib/backend/mock';
import { AppState } from './lib/stores/app.svelte';
import App from './App.svelte';

describe('App', () => {
  it('switches screens by click and by Alt+number', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    const app = new AppState(b, 0);
    await app.init();
    render(App, { app });
    expect(screen.getByRole('heading', { level: 1 }).textContent).toContain('Machine');
    await fireEvent.click(screen.getByRole('button', { name: /Containers/ }));
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Containers');
    await fireEvent.keyDown(window, { key: '3', altKey: true });
    await tick();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Images');
    expect(screen.getByRole('button', { name: /Images/ }).getAttribute('aria-current')).toBe('page');
  });
});
