import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from './lib/backend/mock';
import { AppState } from './lib/stores/app.svelte';
import App from './App.svelte';

async function setup() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  const app = new AppState(b, 0);
  await app.init();
  render(App, { app });
  return app;
}

const title = () => screen.getByRole('heading', { level: 1 }).textContent;

describe('App', () => {
  it('switches screens by click and by Alt+number', async () => {
    await setup();
    expect(title()).toContain('Machine');
    await fireEvent.click(screen.getByRole('button', { name: /Containers/ }));
    expect(title()).toBe('Containers');
    await fireEvent.keyDown(window, { key: '3', altKey: true });
    await tick();
    expect(title()).toBe('Images');
    expect(screen.getByRole('button', { name: /Images/ }).getAttribute('aria-current')).toBe('page');
  });

  it('has Discover, Registries, Settings and Troubleshoot on Ctrl+5 to Ctrl+8', async () => {
    await setup();
    await fireEvent.keyDown(window, { key: '5', ctrlKey: true });
    await tick();
    expect(title()).toBe('Discover');
    await fireEvent.keyDown(window, { key: '6', ctrlKey: true });
    await tick();
    expect(title()).toBe('Registries');
    await fireEvent.keyDown(window, { key: '7', ctrlKey: true });
    await tick();
    expect(title()).toBe('Settings');
    await fireEvent.keyDown(window, { key: '8', ctrlKey: true });
    await tick();
    expect(title()).toBe('Troubleshoot');
    await fireEvent.keyDown(window, { key: '1', ctrlKey: true });
    await tick();
    expect(title()).toContain('Machine');
    expect(screen.getByRole('button', { name: /Settings/ }).title).toBe('Settings (Ctrl+7)');
  });

  it('moves along the sidebar with the arrow keys and opens a screen with Enter', async () => {
    await setup();
    const home = screen.getByRole('button', { name: /Home/ });
    home.focus();
    await fireEvent.keyDown(home, { key: 'ArrowUp' });
    await tick();
    expect(document.activeElement?.textContent).toContain('Troubleshoot');
    await fireEvent.keyDown(document.activeElement!, { key: 'Home' });
    await fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    await tick();
    expect(document.activeElement?.textContent).toContain('Containers');
    // A focused button opens on Enter (the browser turns Enter into a click).
    await fireEvent.click(document.activeElement!);
    expect(title()).toBe('Containers');
  });
});
