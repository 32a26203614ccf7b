import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import RegistryLogin from './RegistryLogin.svelte';

async function fill(user: string, password: string) {
  await fireEvent.input(screen.getByLabelText('Username'), { target: { value: user } });
  await fireEvent.input(screen.getByLabelText('Password'), { target: { value: password } });
  await fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
}

describe('RegistryLogin', () => {
  it('logs in and clears the password field at once', async () => {
    const b = new MockBackend();
    const ondone = vi.fn();
    render(RegistryLogin, { backend: b, registry: 'host.docker.internal:5000', ondone });
    await fill('ann', 's3cret');
    expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
    await waitFor(() => expect(ondone).toHaveBeenCalledWith({ registry: 'host.docker.internal:5000', username: 'ann' }));
    expect(b.registry.logins).toEqual({ 'host.docker.internal:5000': 'ann' });
  });

  it('shows the engine’s words for a wrong password, stores nothing and keeps no password', async () => {
    const b = new MockBackend();
    const ondone = vi.fn();
    render(RegistryLogin, { backend: b, registry: 'host.docker.internal:5000', ondone });
    await fill('ann', 'wrong');
    expect((await screen.findByRole('alert')).textContent).toContain('wrong username or password for host.docker.internal:5000; nothing was stored');
    expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
    expect((screen.getByLabelText('Username') as HTMLInputElement).value).toBe('ann');
    expect(b.registry.logins).toEqual({});
    expect(ondone).not.toHaveBeenCalled();
  });
});
