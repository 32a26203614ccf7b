import { describe, expect, it } from 'vitest';
import { cleanMounts, isMachinePath, mountProblem, mountProblems } from './mounts';

const m = (source: string, target: string, read_only = false) => ({ source, target, read_only });

describe('mountProblem', () => {
  it('accepts volume names and absolute machine paths at absolute container paths', () => {
    expect(mountProblem(m('data', '/var/lib/data'))).toBeNull();
    expect(mountProblem(m('/srv/www', '/www', true))).toBeNull();
    expect(isMachinePath(' /srv')).toBe(true);
    expect(isMachinePath('data')).toBe(false);
  });

  it('says what to fix', () => {
    expect(mountProblem(m('data', 'data'))).toMatch(/must be absolute: \/data\?/);
    expect(mountProblem(m('data', ''))).toMatch(/for example \/data/);
    expect(mountProblem(m('data', '/'))).toMatch(/root/);
    expect(mountProblem(m('./src', '/src'))).toMatch(/not on your computer/);
    expect(mountProblem(m('~/code', '/src'))).toMatch(/start with \//);
    expect(mountProblem(m('', '/data'))).toMatch(/Choose a volume/);
    expect(mountProblem(m('-x', '/data'))).toMatch(/Volume names/);
    expect(mountProblem(m('C:\\x', '/data'))).toMatch(/":"/);
  });

  it('refuses the same container path twice and trims what it sends', () => {
    expect(mountProblems([m('a', '/data'), m('b', ' /data ')])).toEqual([null, '/data is already used by another row.']);
    expect(cleanMounts([m(' a ', ' /d ', true), m(' ', '')])).toEqual([m('a', '/d', true)]);
    expect(mountProblems([m('', '')])).toEqual([null]);
  });
});
