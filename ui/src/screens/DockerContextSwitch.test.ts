import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import DockerContextSwitch from './DockerContextSwitch.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

describe('DockerContextSwitch', () => {
  it('switches to berth and back to the previous context', async () => {
    const b = new MockBackend();
    b.admin.currentContext = 'work';
    render(DockerContextSwitch, { backend: b });
    await settle();
    const box = screen.getByRole('checkbox', { name: "Use Berth as the docker CLI's current context" }) as HTMLInputElement;
    expect(box.checked).toBe(false);
    expect(screen.getByText('work')).toBeTruthy();
    await fireEvent.click(box);
    await settle();
    expect(b.calls).toContain('setDockerContext:true');
    expect(box.checked).toBe(true);
    expect(screen.getByText(/goes back to/).textContent).toContain('work');
    await fireEvent.click(box);
    await settle();
    expect(b.admin.currentContext).toBe('work');
    expect(box.checked).toBe(false);
  });

  it('is disabled without a docker CLI and says what to install', async () => {
    const b = new MockBackend();
    b.admin.dockerCli = false;
    render(DockerContextSwitch, { backend: b });
    await settle();
    expect((screen.getByRole('checkbox') as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByText(/is not installed/)).toBeTruthy();
  });

  it('shows why switching failed and keeps the box as it was', async () => {
    const b = new MockBackend();
    b.admin.contextError = '`docker context use berth` failed: permission denied';
    render(DockerContextSwitch, { backend: b });
    await settle();
    const box = screen.getByRole('checkbox') as HTMLInputElement;
    await fireEvent.click(box);
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('permission denied');
    expect(box.checked).toBe(false);
  });
});
