import { describe, expect, it } from 'vitest';
import type { MachineConfig, SettingsLimits } from './backend/backend';
import { fieldOf, sameSettings, validateSettings } from './settings';

const limits: SettingsLimits = { cpus: { min: 1, max: 64 }, memory_mib: { min: 512, max: 262144 }, disk_gib: { min: 8, max: 4096 }, disk_now_gib: 0 };
const ok: MachineConfig = { cpus: 2, memory_mib: 2048, disk_gib: 64, insecure_registries: [], registry_mirrors: [] };

describe('validateSettings', () => {
  it('accepts the defaults', () => {
    expect(validateSettings(ok, limits)).toEqual({});
  });

  it('says the valid range in the words berth-api uses', () => {
    expect(validateSettings({ ...ok, cpus: 0 }, limits).cpus).toBe('cpus must be between 1 and 64 (got 0)');
    expect(validateSettings({ ...ok, memory_mib: 100 }, limits).memory_mib).toBe('memory must be between 512 and 262144 MiB (got 100 MiB)');
    expect(validateSettings({ ...ok, disk_gib: 1 }, limits).disk_gib).toBe('disk size must be between 8 and 4096 GiB (got 1 GiB)');
    expect(validateSettings({ ...ok, cpus: 1.5 }, limits).cpus).toBe('cpus must be a whole number');
  });

  it('refuses to shrink the data disk', () => {
    const grown = { ...limits, disk_now_gib: 20 };
    expect(validateSettings({ ...ok, disk_gib: 10 }, grown).disk_gib).toMatch(/is 20 GiB and cannot shrink to 10 GiB/);
    expect(validateSettings({ ...ok, disk_gib: 20 }, grown).disk_gib).toBeUndefined();
  });

  it('checks registries and mirrors', () => {
    const e = validateSettings({ ...ok, insecure_registries: ['10.0.2.2:5000', 'http://x:5000'], registry_mirrors: ['mirror.local'] }, limits);
    expect(e.insecure_registries).toBe('insecure registry "http://x:5000" must be host[:port] without a scheme, e.g. host.docker.internal:5000');
    expect(e.registry_mirrors).toBe('registry mirror "mirror.local" must be an http:// or https:// URL');
  });
});

describe('fieldOf', () => {
  it('places the backend refusal next to its field', () => {
    expect(fieldOf('invalid settings: memory 99999 MiB is more than this computer has (16384 MiB)')).toBe('memory_mib');
    expect(fieldOf('the data disk is 20 GiB and cannot shrink to 10 GiB (delete the machine to start smaller)')).toBe('disk_gib');
    expect(fieldOf('registry mirror "x" must be an http:// or https:// URL')).toBe('registry_mirrors');
    expect(fieldOf('the machine is not running')).toBeNull();
  });

  it('compares settings by value', () => {
    expect(sameSettings(ok, { ...ok, insecure_registries: [] })).toBe(true);
    expect(sameSettings(ok, { ...ok, insecure_registries: ['a:1'] })).toBe(false);
  });
});
