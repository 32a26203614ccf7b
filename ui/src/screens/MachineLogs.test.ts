import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import MachineLogs from './MachineLogs.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

describe('MachineLogs', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows the daemon log, switches to the agent log and refreshes', async () => {
    const b = new MockBackend();
    render(MachineLogs, { backend: b });
    await settle();
    expect(screen.getByLabelText('daemon log').textContent).toContain('Docker Engine 26.1.5 is ready');
    await fireEvent.click(screen.getByRole('button', { name: 'Agent' }));
    await settle();
    expect(screen.getByRole('button', { name: 'Agent' }).getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByLabelText('agent log').textContent).toContain('berth-agent: docker: ready');
    b.admin.logs.agent.push('[    9.000] berth-agent: forward: 8080/tcp');
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await settle();
    expect(screen.getByLabelText('agent log').textContent).toContain('forward: 8080/tcp');
  });

  it('says when there is no log yet', async () => {
    const b = new MockBackend();
    render(MachineLogs, { backend: b });
    await settle();
    await fireEvent.click(screen.getByRole('button', { name: 'Hypervisor' }));
    await settle();
    expect(screen.getByText(/No log yet/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Copy' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('copies to the clipboard and saves to Downloads', async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    const b = new MockBackend();
    render(MachineLogs, { backend: b });
    await settle();
    await fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    await settle();
    expect(writeText).toHaveBeenCalledWith(expect.stringContaining('berthd 0.1.0 starting'));
    expect(screen.getByText('Copied 3 lines.')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Save…' }));
    await settle();
    expect(b.downloads[0].name).toBe('berth-daemon.log');
    expect(screen.getByText(/Saved to ~\/Downloads\/berth-daemon.log/)).toBeTruthy();
  });
});
