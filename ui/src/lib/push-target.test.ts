import { describe, expect, it } from 'vitest';
import { pushTarget, repositoryTagOf } from './push-target';

describe('repositoryTagOf', () => {
  it('drops the registry and library/, and names the tag', () => {
    expect(repositoryTagOf('host.docker.internal:5000/berth-app-web:1')).toBe('berth-app-web:1');
    expect(repositoryTagOf('localhost/team/app')).toBe('team/app:latest');
    expect(repositoryTagOf('docker.io/library/nginx:1.27')).toBe('nginx:1.27');
    expect(repositoryTagOf('bitnami/redis')).toBe('bitnami/redis:latest');
    expect(repositoryTagOf('busybox:latest')).toBe('busybox:latest');
  });

  it('offers nothing for an image known only by its id, and drops a digest', () => {
    expect(repositoryTagOf('sha256:2222aaaabbbbccccdddd')).toBe('');
    expect(repositoryTagOf('')).toBe('');
    expect(repositoryTagOf('reg.lan/app@sha256:abc')).toBe('app:latest');
  });
});

describe('pushTarget', () => {
  it('puts the registry in front, except for Docker Hub', () => {
    expect(pushTarget('host.docker.internal:5001', 'berth-app-web:1')).toBe('host.docker.internal:5001/berth-app-web:1');
    expect(pushTarget('docker.io', 'ann/web:1')).toBe('ann/web:1');
    expect(pushTarget(' reg.lan:5000/ ', ' app:2 ')).toBe('reg.lan:5000/app:2');
    expect(pushTarget('reg.lan', '')).toBe('');
  });
});
