import { describe, expect, it } from 'vitest';
import { platformOf, portability } from './platforms';

describe('platforms', () => {
  it('names a platform with its variant', () => {
    expect(platformOf({ os: 'linux', architecture: 'arm', variant: 'v7', size: 1, digest: null })).toBe('linux/arm/v7');
    expect(platformOf({ os: 'linux', architecture: 'amd64', variant: null, size: 1, digest: null })).toBe('linux/amd64');
  });

  it('says whether an image runs natively, emulated, or nobody knows', () => {
    expect(portability(['linux/amd64', 'linux/arm64/v8'], 'linux/amd64')).toBe('native');
    expect(portability(['linux/arm/v7'], 'linux/amd64')).toBe('emulated');
    expect(portability(['unknown/unknown'], 'linux/amd64')).toBe('unknown');
    expect(portability([], 'linux/amd64')).toBe('unknown');
    expect(portability(['linux/arm64'], '')).toBe('unknown');
  });
});
