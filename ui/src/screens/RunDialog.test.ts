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

describe('RunDialog volumes', () => {
  function open() {
    const b = MockBackend.demo(0);
    b.status = { ...b.status, state: 'running' };
    const ondone = vi.fn();
    render(RunDialog, { backend: b, image: 'busybox:latest', onclose: () => {}, ondone });
    return { b, ondone };
  }

  it('mounts a named volume and a read-only machine path', async () => {
    const { b, ondone } = open();
    await settle();
    expect(screen.getByText(/not on your\s+computer/)).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Add volume' }));
    await fireEvent.input(screen.getByLabelText('Volume or machine path 1'), { target: { value: 'shop_data' } });
    await fireEvent.input(screen.getByLabelText('Container path 1'), { target: { value: '/data' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add volume' }));
    await fireEvent.input(screen.getByLabelText('Volume or machine path 2'), { target: { value: ' /srv/www ' } });
    await fireEvent.input(screen.getByLabelText('Container path 2'), { target: { value: '/www' } });
    await fireEvent.click(screen.getAllByLabelText('Read-only')[1]);
    expect(screen.getByText(/on the Berth machine\./)).toBeTruthy();
    await fireEvent.input(screen.getByLabelText(/^Name/), { target: { value: 'web' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await settle();
    expect(ondone).toHaveBeenCalled();
    expect(b.lastRun?.volumes).toEqual([
      { source: 'shop_data', target: '/data', read_only: false },
      { source: '/srv/www', target: '/www', read_only: true },
    ]);
    expect(b.volumes.find((v) => v.name === 'shop_data')?.used_by).toEqual(['web']);
  });

  it('refuses relative paths until fixed and ignores rows left empty', async () => {
    const { b } = open();
    await settle();
    await fireEvent.click(screen.getByRole('button', { name: 'Add volume' }));
    const run = screen.getByRole('button', { name: 'Run' }) as HTMLButtonElement;
    expect(run.disabled).toBe(false);
    await fireEvent.input(screen.getByLabelText('Volume or machine path 1'), { target: { value: './site' } });
    await fireEvent.input(screen.getByLabelText('Container path 1'), { target: { value: 'www' } });
    expect(screen.getByText(/must be absolute \(start with \/\)/)).toBeTruthy();
    expect(run.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText('Volume or machine path 1'), { target: { value: 'site' } });
    expect(screen.getByText(/container path must be absolute: \/www\?/)).toBeTruthy();
    await fireEvent.input(screen.getByLabelText('Container path 1'), { target: { value: '/www' } });
    expect(screen.getByText(/created when the container starts/)).toBeTruthy();
    expect(run.disabled).toBe(false);
    await fireEvent.click(screen.getByRole('button', { name: 'Add volume' }));
    await fireEvent.click(run);
    await settle();
    expect(b.lastRun?.volumes).toEqual([{ source: 'site', target: '/www', read_only: false }]);
  });

  it('offers existing volumes and removes a row', async () => {
    open();
    await settle();
    expect(document.querySelector('#run-known-volumes option[value="shop_data"]')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Add volume' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Remove volume 1' }));
    expect(screen.queryByLabelText('Volume or machine path 1')).toBeNull();
  });
});
