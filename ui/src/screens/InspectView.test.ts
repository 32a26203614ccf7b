import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import InspectView from './InspectView.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

function running() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

describe('InspectView', () => {
  it('shows command, ports, environment and labels, and the raw JSON to copy', async () => {
    const b = running();
    const { container } = render(InspectView, { backend: b, id: 'c1', name: 'shop-web-1' });
    await settle();
    expect(container.querySelector('[data-field="command"]')?.textContent).toBe('/bin/busybox httpd -f');
    expect(within(screen.getByRole('table', { name: 'Ports' })).getByText('0.0.0.0:8080')).toBeTruthy();
    const env = screen.getByRole('table', { name: 'Environment' });
    expect(within(env).getByText('GREETING')).toBeTruthy();
    expect(within(env).getByText('hello')).toBeTruthy();
    expect(within(screen.getByRole('table', { name: 'Labels' })).getByText('com.docker.compose.project')).toBeTruthy();
    expect(screen.getByText('No mounts.')).toBeTruthy();

    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await fireEvent.click(screen.getByRole('button', { name: 'Copy JSON' }));
    await tick();
    expect(JSON.parse((writeText.mock.calls[0] as unknown as [string])[0]).Name).toBe('/shop-web-1');
    expect(screen.getByRole('status').textContent).toBe('Copied to the clipboard.');
  });

  it('says what went wrong', async () => {
    const b = running();
    render(InspectView, { backend: b, id: 'gone', name: 'gone' });
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('No such container: gone');
  });
});
