import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { MachineUsage } from '../backend/backend';
import UsageMeters from './UsageMeters.svelte';

const MIB = 1024 * 1024;
const reading: MachineUsage = {
  cpu_percent: 12.6,
  cpus: 2,
  memory_used_bytes: 412 * MIB,
  memory_total_bytes: 1986 * MIB,
  disk_used_bytes: 1330 * MIB,
  disk_size_bytes: 63 * 1024 * MIB,
  host_rss_bytes: 612 * MIB,
};

const meter = (name: string) => screen.getByRole('meter', { name });

describe('UsageMeters', () => {
  it('shows CPU, memory and disk use with what they are out of', () => {
    render(UsageMeters, { usage: reading });
    expect(meter('CPU').getAttribute('aria-valuenow')).toBe('13');
    expect(meter('Memory').getAttribute('aria-valuenow')).toBe('21');
    expect(meter('Disk').getAttribute('aria-valuenow')).toBe('2');
    const region = screen.getByRole('region', { name: 'Machine usage' });
    expect(region.textContent).toContain('13 %');
    expect(region.textContent).toContain('of 2 CPUs');
    expect(region.textContent).toContain('412 MiB');
    expect(region.textContent).toContain('of 1.9 GiB');
    expect(region.textContent).toContain('of 63.0 GiB');
    expect(screen.getByText('VM process on this computer: 612 MiB')).toBeTruthy();
  });

  it('says it is measuring until there is a reading, and a first reading has no CPU % yet', async () => {
    const { rerender } = render(UsageMeters, { usage: null });
    expect(meter('CPU').getAttribute('aria-valuenow')).toBeNull();
    expect(screen.getAllByText('measuring…')).toHaveLength(3);
    expect(screen.queryByText(/VM process/)).toBeNull();
    await rerender({ usage: { ...reading, cpu_percent: null, disk_used_bytes: null, disk_size_bytes: null, host_rss_bytes: null } });
    expect(meter('CPU').getAttribute('aria-valuetext')).toBe('unknown');
    expect(screen.getByText('of 2 CPUs · measuring…')).toBeTruthy();
    expect(screen.getByText('not measured')).toBeTruthy();
    expect(meter('Memory').getAttribute('aria-valuenow')).toBe('21');
  });

  it('marks a nearly full meter', () => {
    render(UsageMeters, { usage: { ...reading, memory_used_bytes: 1900 * MIB, cpu_percent: 4.25 } });
    expect(meter('Memory').classList.contains('high')).toBe(true);
    expect(meter('CPU').classList.contains('high')).toBe(false);
    expect(screen.getByRole('region', { name: 'Machine usage' }).textContent).toContain('4.3 %');
  });
});
