import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import FindingList from './FindingList.svelte';

describe('FindingList', () => {
  it('marks each finding and shows the fix of those that need one', () => {
    render(FindingList, {
      findings: [
        { id: 'tools.qemu', check: 'tools', level: 'ok', message: 'qemu found', fix: null },
        { id: 'tools.passt', check: 'tools', level: 'fail', message: 'passt is not installed', fix: 'sudo apt-get install passt' },
      ],
      labels: { 'tools.passt': 'passt' },
    });
    const items = screen.getAllByRole('listitem');
    expect(items[0].className).toContain('ok');
    expect(items[1].className).toContain('fail');
    expect(items[1].textContent).toContain('problem:');
    expect(items[1].textContent).toContain('passt');
    expect(screen.getByText('sudo apt-get install passt', { exact: false })).toBeTruthy();
    expect(items[0].textContent).not.toContain('Fix:');
  });
});
