import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import RunDialog from './RunDialog.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

describe('RunDialog', () => {
  it('prefills ports from EXPOSE and runs with them', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    const ondone = vi.fn();
    render(RunDialog, { backend: b, image: 'registry.local/web:1.0', onclose: () => {}, ondone });
    await settle();
    const host = screen.getByLabelText('Host port for 80/tcp') as HTMLInputElement;
    expect(host.value).toBe('8080');
    await fireEvent.input(screen.getByLabelText(/^Name/), { target: { value: 'web' } });
    await fireEvent.input(screen.getByLabelText(/^Command/), { target: { value: 'httpd -f -p 80' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await settle();
    expect(ondone).toHaveBeenCalled();
    const c = b.containers.find((c) => c.name === 'web')!;
    expect(c.ports).toEqual([{ container_port: 80, protocol: 'tcp', host_port: 8080 }]);
  });

  it('shows why running failed', async () => {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    render(RunDialog, { backend: b, image: 'busybox:latest', onclose: () => {}, ondone: () => {} });
    await settle();
    expect(screen.getByText('The image exposes no ports.')).toBeTruthy();
    await fireEvent.input(screen.getByLabelText(/^Name/), { target: { value: 'shop-web-1' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('already in use');
  });
});
