import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import AddRegistryForm from './AddRegistryForm.svelte';

const address = () => screen.getByLabelText('Registry address') as HTMLInputElement;

describe('AddRegistryForm', () => {
  it('remembers an HTTPS registry and reports it', async () => {
    const b = new MockBackend();
    const onadded = vi.fn();
    render(AddRegistryForm, { backend: b, onadded, oncancel: vi.fn() });
    expect(document.activeElement).toBe(address());
    await fireEvent.input(address(), { target: { value: 'ghcr.io' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    await waitFor(() => expect(onadded).toHaveBeenCalledWith({ registry: 'ghcr.io', settingsChanged: false }, false));
    expect(b.registry.known).toEqual(['ghcr.io']);
    expect(address().value).toBe('');
  });

  it('adds a plain-HTTP one to the machine’s insecure registries', async () => {
    const b = new MockBackend();
    const onadded = vi.fn();
    render(AddRegistryForm, { backend: b, onadded, oncancel: vi.fn() });
    await fireEvent.input(address(), { target: { value: 'reg.lan:5000' } });
    await fireEvent.click(screen.getByLabelText('Plain HTTP (insecure)'));
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    await waitFor(() => expect(onadded).toHaveBeenCalledWith({ registry: 'reg.lan:5000', settingsChanged: true }, true));
    expect(b.admin.settings.insecure_registries).toEqual(['reg.lan:5000']);
    expect(b.registry.known).toEqual([]);
  });

  it('says what is wrong with an address and saves nothing', async () => {
    const b = new MockBackend();
    const onadded = vi.fn();
    render(AddRegistryForm, { backend: b, onadded, oncancel: vi.fn() });
    await fireEvent.input(address(), { target: { value: 'http://reg.lan:5000' } });
    await fireEvent.click(screen.getByLabelText('Plain HTTP (insecure)'));
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('insecure registry "http://reg.lan:5000" must be host[:port] without a scheme, e.g. host.docker.internal:5000');
    expect(address().getAttribute('aria-invalid')).toBe('true');
    await fireEvent.input(address(), { target: { value: 'reg.lan:99999' } });
    expect(screen.queryByRole('alert')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    expect((await screen.findByRole('alert')).textContent).toBe('the port of "reg.lan:99999" must be a number up to 65535');
    expect(onadded).not.toHaveBeenCalled();
    expect(b.calls).not.toContain('saveSettings');
    expect(b.registry.known).toEqual([]);
  });

  it('shows the backend’s refusal', async () => {
    const b = new MockBackend();
    b.admin.hostMemoryMib = 1024;
    const onadded = vi.fn();
    render(AddRegistryForm, { backend: b, onadded, oncancel: vi.fn() });
    await fireEvent.input(address(), { target: { value: 'reg.lan:5000' } });
    await fireEvent.click(screen.getByLabelText('Plain HTTP (insecure)'));
    await fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/more than this computer has/);
    expect(onadded).not.toHaveBeenCalled();
  });

  it('cancels', async () => {
    const oncancel = vi.fn();
    render(AddRegistryForm, { backend: new MockBackend(), onadded: vi.fn(), oncancel });
    await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(oncancel).toHaveBeenCalled();
  });
});
