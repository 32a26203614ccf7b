import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatMiB, formatUptime, parseExposed, portUrl, shortId, splitCommand } from './format';

describe('format', () => {
  it('formats sizes in decimal units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2_100_000)).toBe('2.1 MB');
    expect(formatBytes(124_000_000)).toBe('124 MB');
  });

  it('formats memory and disk sizes in binary units', () => {
    expect(formatMiB(412 * 1024 * 1024)).toBe('412 MiB');
    expect(formatMiB(1986 * 1024 * 1024)).toBe('1.9 GiB');
    expect(formatMiB(63 * 1024 ** 3)).toBe('63.0 GiB');
    expect(formatMiB(-1)).toBe('—');
  });

  it('says how long ago', () => {
    const now = 1_000_000 * 1000;
    expect(formatAge(1_000_000 - 5, now)).toBe('just now');
    expect(formatAge(1_000_000 - 60, now)).toBe('1 minute ago');
    expect(formatAge(1_000_000 - 7200, now)).toBe('2 hours ago');
  });

  it('formats uptime', () => {
    expect(formatUptime(null)).toBe('—');
    expect(formatUptime(42)).toBe('42 s');
    expect(formatUptime(3900)).toBe('1 h 5 min');
  });

  it('shortens ids', () => {
    expect(shortId('sha256:0123456789abcdef')).toBe('0123456789ab');
  });

  it('links only published tcp ports', () => {
    expect(portUrl({ container_port: 80, protocol: 'tcp', host_port: 8080 })).toBe('http://127.0.0.1:8080');
    expect(portUrl({ container_port: 80, protocol: 'tcp', host_port: null })).toBeNull();
    expect(portUrl({ container_port: 53, protocol: 'udp', host_port: 53 })).toBeNull();
  });

  it('parses EXPOSE specs', () => {
    expect(parseExposed('80/tcp')).toEqual({ container_port: 80, protocol: 'tcp' });
    expect(parseExposed('53/udp')).toEqual({ container_port: 53, protocol: 'udp' });
    expect(parseExposed('8080')).toEqual({ container_port: 8080, protocol: 'tcp' });
    expect(parseExposed('99999/tcp')).toBeNull();
    expect(parseExposed('abc')).toBeNull();
  });

  it('splits commands keeping quotes', () => {
    expect(splitCommand(`httpd -f -p 80 -h "/srv/my www"`)).toEqual(['httpd', '-f', '-p', '80', '-h', '/srv/my www']);
  });
});
