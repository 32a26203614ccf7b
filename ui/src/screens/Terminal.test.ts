import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import Terminal from './Terminal.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 20));
  await tick();
};

function running() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

// xterm.js runs under jsdom (with the matchMedia shim in test-setup.ts), but jsdom lays nothing out,
// so the screen is read from xterm's buffer through the component's `screenText()`.
describe('Terminal', () => {
  it('opens a shell, shows what it prints, sends keys (Ctrl+C too) and hangs up when closed', async () => {
    const b = running();
    const { component, container, unmount } = render(Terminal, { backend: b, id: 'c1', name: 'shop-web-1' });
    await settle();
    expect(b.calls).toContain('terminalOpen:c1:80x24');
    expect(container.querySelector('[data-phase="open"]')).toBeTruthy();
    const textarea = container.querySelector('textarea')!;
    for (const ch of 'echo berth-$((6*7))') await fireEvent.keyPress(textarea, { key: ch, charCode: ch.charCodeAt(0) });
    await fireEvent.keyDown(textarea, { key: 'Enter', keyCode: 13 });
    await settle();
    expect(b.typed.join('')).toBe('echo berth-$((6*7))\r');
    expect(component.screenText()).toContain('berth-42');
    await fireEvent.keyDown(textarea, { key: 'c', keyCode: 67, ctrlKey: true });
    await settle();
    expect(b.typed).toContain('\x03');
    unmount();
    expect(b.calls.some((c) => c.startsWith('terminalClose:'))).toBe(true);
  });

  it('says when the shell exits and opens a new one on request', async () => {
    const b = running();
    const { container } = render(Terminal, { backend: b, id: 'c1', name: 'shop-web-1' });
    await settle();
    const session = [...b.terminals.keys()][0];
    await b.terminalInput(session, 'exit 3\r');
    await settle();
    expect(screen.getByText('The shell exited with code 3.')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Open a new shell' }));
    await settle();
    expect(container.querySelector('[data-phase="open"]')).toBeTruthy();
    expect(b.terminals.size).toBe(1);
  });

  it('says why a shell cannot open', async () => {
    const b = running();
    b.containers[0].state = 'exited';
    render(Terminal, { backend: b, id: 'c1', name: 'shop-web-1' });
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('shop-web-1 is not running; start it to open a terminal in it');
  });
});
