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

describe('LogsView tools', () => {
  async function open() {
    const b = new MockBackend({ state: 'running' });
    b.logs = { c1: ['GET / 200', 'GET /missing 404', 'GET /about 200'] };
    render(LogsView, { backend: b, id: 'c1', name: 'web' });
    await wait();
    await tick();
    return b;
  }

  it('narrows the lines to a search', async () => {
    await open();
    await fireEvent.input(screen.getByRole('searchbox', { name: 'Search the logs' }), { target: { value: '404' } });
    const log = screen.getByRole('log');
    expect(log.textContent).toContain('GET /missing 404');
    expect(log.textContent).not.toContain('GET /about');
    expect(screen.getByRole('status').textContent).toBe('1 of 3 lines');
    await fireEvent.input(screen.getByRole('searchbox'), { target: { value: 'nothing like it' } });
    expect(log.textContent).toContain('No line matches.');
  });

  it('shows timestamps on request', async () => {
    await open();
    const log = screen.getByRole('log');
    expect(log.textContent).not.toContain('2024-05-01');
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Timestamps' }));
    expect(log.textContent).toContain('2024-05-01 10:00:01.000 GET /missing 404');
  });

  it('downloads what it kept', async () => {
    const b = await open();
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Timestamps' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Download' }));
    await wait();
    expect(b.downloads[0].name).toMatch(/^web-\d{8}-\d{6}\.log$/);
    expect(b.downloads[0].contents).toBe(
      '2024-05-01T10:00:00.000Z GET / 200\n2024-05-01T10:00:01.000Z GET /missing 404\n2024-05-01T10:00:02.000Z GET /about 200\n',
    );
    expect(screen.getByText(/^Saved to /)).toBeTruthy();
  });
});
