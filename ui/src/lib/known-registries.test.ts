import { describe, expect, it } from 'vitest';
import { MockBackend } from './backend/mock';
import { addRegistry, registryAddressError, removable, removeRegistry } from './known-registries';

describe('registryAddressError', () => {
  it('takes host[:port] as the engine reads it', () => {
    for (const ok of ['reg.lan', 'reg.lan:5000', 'host.docker.internal:5000', '[::1]:5000', '10.0.2.2:65535']) {
      expect(registryAddressError(ok, false), ok).toBeNull();
    }
  });

  it('says what is wrong, in the settings’ words for insecure ones', () => {
    expect(registryAddressError('http://reg.lan:5000', true)).toBe(
      'insecure registry "http://reg.lan:5000" must be host[:port] without a scheme, e.g. host.docker.internal:5000',
    );
    expect(registryAddressError('reg.lan/v2', false)).toMatch(/^registry address "reg.lan\/v2" must be host\[:port\]/);
    expect(registryAddressError('reg lan', false)).toMatch(/must be host\[:port\]/);
    expect(registryAddressError('reg.lan:http', false)).toBe('the port of "reg.lan:http" must be a number up to 65535');
    expect(registryAddressError('reg.lan:70000', true)).toMatch(/up to 65535/);
  });
});

describe('addRegistry / removeRegistry', () => {
  it('remembers an HTTPS registry without touching the settings, and forgets it', async () => {
    const b = new MockBackend();
    expect(await addRegistry(b, ' ghcr.io/ ', false)).toEqual({ registry: 'ghcr.io', settingsChanged: false });
    expect(b.registry.known).toEqual(['ghcr.io']);
    expect(b.calls).not.toContain('saveSettings');
    const [entry] = (await b.registries()).registries;
    expect(entry).toMatchObject({ registry: 'ghcr.io', added: true, insecure: false });
    expect(removable(entry)).toBe(true);
    expect(await removeRegistry(b, entry)).toEqual({ registry: 'ghcr.io', settingsChanged: false });
    expect(b.registry.known).toEqual([]);
  });

  it('adds an insecure registry to the machine’s settings once, and removes it from there', async () => {
    const b = new MockBackend();
    b.admin.settings.registry_mirrors = ['https://mirror.lan'];
    expect(await addRegistry(b, 'reg.lan:5000', true)).toEqual({ registry: 'reg.lan:5000', settingsChanged: true });
    expect(b.admin.settings).toMatchObject({ insecure_registries: ['reg.lan:5000'], registry_mirrors: ['https://mirror.lan'], cpus: 2 });
    expect(await addRegistry(b, 'REG.lan:5000', true)).toEqual({ registry: 'REG.lan:5000', settingsChanged: false });
    expect(b.calls.filter((c) => c === 'saveSettings')).toHaveLength(1);
    const entry = (await b.registries()).registries.find((r) => r.registry === 'reg.lan:5000')!;
    expect(await removeRegistry(b, entry)).toEqual({ registry: 'reg.lan:5000', settingsChanged: true });
    expect(b.admin.settings.insecure_registries).toEqual([]);
  });

  it('saves nothing for an address the engine would refuse', async () => {
    const b = new MockBackend();
    await expect(addRegistry(b, 'reg.lan:http', true)).rejects.toThrow(/up to 65535/);
    await expect(addRegistry(b, 'https://reg.lan', false)).rejects.toThrow(/without a scheme/);
    expect(b.calls).not.toContain('saveSettings');
    expect(b.registry.known).toEqual([]);
  });

  it('offers Remove only for registries added here or insecure ones', () => {
    const e = { registry: 'r', insecure: false, mirror: false, added: false, username: null };
    expect(removable(e)).toBe(false);
    expect(removable({ ...e, mirror: true })).toBe(false);
    expect(removable({ ...e, username: 'ann' })).toBe(false);
    expect(removable({ ...e, insecure: true })).toBe(true);
  });
});
