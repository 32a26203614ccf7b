import { fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/backend/mock';
import DoctorFindings from './DoctorFindings.svelte';

const settle = async () => {
  await new Promise((r) => setTimeout(r, 5));
  await tick();
};

describe('DoctorFindings', () => {
  it('runs the checks when shown and counts problems', async () => {
    const b = new MockBackend();
    b.admin.extraFindings = [{ id: 'ports.8080/tcp', check: 'ports', level: 'fail', message: 'port 8080/tcp is not forwarded: in use', fix: 'stop the program that uses port 8080' }];
    render(DoctorFindings, { backend: b });
    await settle();
    expect(screen.getByText('1 problem found')).toBeTruthy();
    expect(screen.getByText(/stop the program that uses port 8080/)).toBeTruthy();
    b.admin.extraFindings = [];
    await fireEvent.click(screen.getByRole('button', { name: 'Run checks again' }));
    await settle();
    expect(screen.getByText('No problems found')).toBeTruthy();
  });

  it('says why the checks could not run', async () => {
    const b = new MockBackend();
    b.doctor = async () => Promise.reject({ kind: 'internal', message: 'cannot read /proc' });
    render(DoctorFindings, { backend: b });
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('Could not run the checks: cannot read /proc');
  });
});
