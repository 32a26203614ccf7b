import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import PushDialog from './PushDialog.svelte';

const settle = async (ms = 5) => {
  await new Promise((r) => setTimeout(r, ms));
  await tick();
};

/** The demo machine, running, that knows `host.docker.internal:5000` (insecure; ann / s3cret may push). */
function machine(delay = 0) {
  const b = MockBackend.demo(delay);
  b.status = { ...b.status, state: 'running' };
  b.admin.settings.insecure_registries = ['host.docker.internal:5000'];
  return b;
}

function open(b: MockBackend, image = 'registry.local/web:1.0') {
  const ondone = vi.fn();
  const onclose = vi.fn();
  render(PushDialog, { backend: b, image, onclose, ondone });
  return { ondone, onclose, dialog: screen.getByRole('dialog') };
}

describe('PushDialog', () => {
  it('offers the known registries and the name from the image', async () => {
    const { dialog } = open(machine());
    await settle();
    const select = within(dialog).getByRole('combobox') as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(['host.docker.internal:5000', 'Another registry…']);
    expect(select.value).toBe('host.docker.internal:5000');
    expect((within(dialog).getByLabelText('Repository and tag') as HTMLInputElement).value).toBe('web:1.0');
    expect(within(dialog).getByText('host.docker.internal:5000/web:1.0')).toBeTruthy();
  });

  it('says to log in when the registry refuses, logs in there and pushes with per-layer progress', async () => {
    const b = machine(5);
    const { ondone, dialog } = open(b);
    await settle();
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Push' }));
    await settle(20);
    expect(within(dialog).getByRole('alert').textContent).toContain(
      'push denied: log in to host.docker.internal:5000 with an account that may push to web',
    );
    expect(dialog.dataset.phase).toBe('failed');
    const login = within(dialog).getByRole('form', { name: 'Log in to a registry' });
    await fireEvent.input(within(login).getByLabelText('Username'), { target: { value: 'ann' } });
    await fireEvent.input(within(login).getByLabelText('Password'), { target: { value: 's3cret' } });
    await fireEvent.click(within(login).getByRole('button', { name: 'Log in' }));
    await settle(20);
    expect(dialog.dataset.phase).toBe('pushing');
    expect(within(dialog).getByLabelText('Layer 5f70bf18a086')).toBeTruthy();
    await settle(150);
    expect(dialog.dataset.phase).toBe('done');
    const progress = within(dialog).getByLabelText('Push of host.docker.internal:5000/web:1.0');
    expect(progress.dataset.state).toBe('done');
    expect(progress.textContent).toContain('Pushed host.docker.internal:5000/web:1.0');
    expect([...progress.querySelectorAll('li[data-layer]')].map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      '5f70bf18a086 Pushed',
      'a3ed95caeb02 Pushed',
    ]);
    expect(ondone).toHaveBeenCalledWith(expect.objectContaining({ reference: 'host.docker.internal:5000/web:1.0' }));
    expect(b.registry.catalogs['host.docker.internal:5000']['web']).toEqual(['1.0']);
    expect(b.images.find((i) => i.id === 'sha256:1111')?.tags).toContain('host.docker.internal:5000/web:1.0');
  });

  it('pushes to a typed registry and shows why one cannot be reached', async () => {
    const b = machine();
    b.registry.logins['host.docker.internal:5000'] = 'ann';
    const { dialog } = open(b, 'busybox:latest');
    await settle();
    await fireEvent.change(within(dialog).getByRole('combobox'), { target: { value: '' } });
    await fireEvent.input(within(dialog).getByLabelText('Registry address'), { target: { value: 'reg.lan:5000' } });
    await fireEvent.input(within(dialog).getByLabelText('Repository and tag'), { target: { value: 'tools/busybox:1' } });
    expect(within(dialog).getByText('reg.lan:5000/tools/busybox:1')).toBeTruthy();
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Push' }));
    await settle();
    expect(within(dialog).getByRole('alert').textContent).toMatch(/cannot reach registry reg\.lan:5000.*insecure registries/);
    expect(within(dialog).queryByRole('form', { name: 'Log in to a registry' })).toBeNull();
  });

  it('cannot push without a name, and closes with Escape', async () => {
    const b = machine();
    const { dialog, onclose } = open(b, 'sha256:2222');
    await settle();
    expect((within(dialog).getByLabelText('Repository and tag') as HTMLInputElement).value).toBe('');
    expect((within(dialog).getByRole('button', { name: 'Push' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(onclose).toHaveBeenCalled();
  });
});
