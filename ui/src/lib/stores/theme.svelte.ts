// The colour theme: follow the system, or force light or dark. Persisted; applied as `data-theme` on the
// root element, which app.css keys its colour variables on (no attribute: prefers-color-scheme decides).
import { getPref, setPref, THEME_KEY } from '../prefs';

export type Theme = 'system' | 'light' | 'dark';
const THEMES: Theme[] = ['system', 'light', 'dark'];

export class ThemeStore {
  choice = $state<Theme>('system');

  constructor(private root: HTMLElement | null = typeof document === 'undefined' ? null : document.documentElement) {
    const saved = getPref(THEME_KEY);
    this.choice = THEMES.includes(saved as Theme) ? (saved as Theme) : 'system';
    this.apply();
  }

  set(theme: Theme) {
    this.choice = theme;
    setPref(THEME_KEY, theme === 'system' ? null : theme);
    this.apply();
  }

  private apply() {
    if (!this.root) return;
    if (this.choice === 'system') delete this.root.dataset.theme;
    else this.root.dataset.theme = this.choice;
  }
}

/** The window's theme. */
export const theme = new ThemeStore();
