import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import HubAddressSetting from './HubAddressSetting.svelte';

const field = () => screen.getByLabelText('Docker Hub address') as HTMLInputElement;

describe('HubAddressSetting', () => {
  it('shows the default, saves another address and refuses a bad one', async () => {
    const b = new MockBackend();
    render(HubAddressSetting, { backend: b });
    await waitFor(() => expect(field().value).toBe('https://hub.docker.com'));
    await fireEvent.input(field(), { target: { value: 'http://127.0.0.1:5001/' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save address' }));
    await waitFor(() => expect(screen.getByText('Saved: Discover searches http://127.0.0.1:5001.')).toBeTruthy());
    expect(b.registry.hubUrl).toBe('http://127.0.0.1:5001');
    await fireEvent.input(field(), { target: { value: 'hub.example.com' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save address' }));
    await waitFor(() => expect(screen.getByText(/must start with http:\/\/ or https:\/\//)).toBeTruthy());
    expect(b.registry.hubUrl).toBe('http://127.0.0.1:5001');
  });

  it('says when BERTH_HUB_URL overrides it', async () => {
    const b = new MockBackend();
    b.registry.envHubUrl = 'http://127.0.0.1:7000';
    render(HubAddressSetting, { backend: b });
    expect(await screen.findByText('BERTH_HUB_URL is set: Discover searches http://127.0.0.1:7000.')).toBeTruthy();
  });
});
