import { afterEach, describe, expect, it } from 'vitest';
import { THEME_KEY } from '../prefs';
import { ThemeStore } from './theme.svelte';

describe('ThemeStore', () => {
  afterEach(() => localStorage.clear());

  it('follows the system until told otherwise, and remembers the choice', () => {
    const root = document.createElement('html');
    const t = new ThemeStore(root);
    expect(t.choice).toBe('system');
    expect(root.dataset.theme).toBeUndefined();
    t.set('dark');
    expect(root.dataset.theme).toBe('dark');
    expect(localStorage.getItem(THEME_KEY)).toBe('dark');
    const again = new ThemeStore(root);
    expect(again.choice).toBe('dark');
    again.set('system');
    expect(root.dataset.theme).toBeUndefined();
    expect(localStorage.getItem(THEME_KEY)).toBeNull();
  });

  it('ignores a stored value it does not know', () => {
    localStorage.setItem(THEME_KEY, 'neon');
    expect(new ThemeStore(document.createElement('html')).choice).toBe('system');
  });
});
