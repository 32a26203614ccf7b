import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import StartAtLogin from './StartAtLogin.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

describe('StartAtLogin', () => {
  it('shows the current setting and turns it on and off', async () => {
    const b = new MockBackend();
    b.loginItemOn = true;
    render(StartAtLogin, { backend: b });
    await settle();
    const box = screen.getByRole('checkbox', { name: 'Start Berth when you log in' }) as HTMLInputElement;
    expect(box.checked).toBe(true);
    await fireEvent.click(box);
    await settle();
    expect(b.calls).toContain('setLoginItem:false');
    expect(b.loginItemOn).toBe(false);
    expect(box.checked).toBe(false);
  });

  it('says why it could not change and keeps the box as it was', async () => {
    const b = new MockBackend();
    b.loginItemError = 'cannot change /home/u/.config/autostart/berth.desktop: permission denied';
    render(StartAtLogin, { backend: b });
    await settle();
    const box = screen.getByRole('checkbox') as HTMLInputElement;
    await fireEvent.click(box);
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('permission denied');
    expect(box.checked).toBe(false);
  });
});
