import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import PortLinks from './PortLinks.svelte';

describe('PortLinks', () => {
  it('links published tcp ports and opens them through the backend', async () => {
    const onopen = vi.fn();
    render(PortLinks, {
      ports: [
        { container_port: 80, protocol: 'tcp', host_port: 8080 },
        { container_port: 443, protocol: 'tcp', host_port: null },
      ],
      onopen,
    });
    const link = screen.getByRole('link', { name: '8080→80' });
    expect(link.getAttribute('href')).toBe('http://127.0.0.1:8080');
    await fireEvent.click(link);
    expect(onopen).toHaveBeenCalledWith('http://127.0.0.1:8080');
    expect(screen.getByText('443/tcp')).toBeTruthy();
  });
});
