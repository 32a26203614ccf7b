import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import LogsView from './LogsView.svelte';

const wait = () => new Promise((r) => setTimeout(r, 5));

describe('LogsView', () => {
  it('shows the last lines and live ones, and stops the stream when closed', async () => {
    const b = new MockBackend({ state: 'running' });
    b.logs = { c1: ['hello', 'world'] };
    const onclose = vi.fn();
    const { unmount } = render(LogsView, { backend: b, id: 'c1', name: 'web', onclose });
    await wait();
    await tick();
    const log = screen.getByRole('log');
    expect(log.textContent).toContain('hello');
    b.emitLog({ stream_id: 1, lines: [{ stream: 'stderr', text: 'oops' }] });
    b.emitLog({ stream_id: 99, lines: [{ stream: 'stdout', text: 'not mine' }] });
    await tick();
    expect(log.textContent).toContain('oops');
    expect(log.textContent).not.toContain('not mine');
    await fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(onclose).toHaveBeenCalled();
    unmount();
    expect(b.calls).toContain('stopLogs:1');
  });
});
