// Small preferences kept in the webview's localStorage (theme, first-run card dismissed). Storage can be
// missing or refuse writes (private modes, tests): then preferences last for the session only.

export const THEME_KEY = 'berth.theme';
export const FIRST_RUN_DISMISSED_KEY = 'berth.firstRunDismissed';

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export function getPref(key: string): string | null {
  try {
    return storage()?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function setPref(key: string, value: string | null): void {
  try {
    if (value === null) storage()?.removeItem(key);
    else storage()?.setItem(key, value);
  } catch {
    /* not persisted; fine */
  }
}
