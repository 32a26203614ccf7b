// Where a push goes: the repository:tag an image is offered under, and the full name it is pushed as.

/** The first part of a name is a registry when it has a dot or a port, or is `localhost` (as Docker reads it). */
const isRegistry = (part: string) => part.includes('.') || part.includes(':') || part === 'localhost';

/**
 * `host:5000/team/app:1` → `team/app:1`, `nginx` → `nginx:latest`, `docker.io/library/nginx:1` → `nginx:1`;
 * an image id (no name to offer) → ''.
 */
export function repositoryTagOf(image: string): string {
  const name = image.trim().replace(/@.*$/, '');
  if (!name || name.startsWith('sha256:') || /^[0-9a-f]{12,64}$/.test(name)) return '';
  const parts = name.split('/');
  if (parts.length > 1 && isRegistry(parts[0])) parts.shift();
  if (parts.length > 1 && parts[0] === 'library') parts.shift();
  const rest = parts.join('/');
  return parts[parts.length - 1].includes(':') ? rest : `${rest}:latest`;
}

/** The name to push as: `registry/repository:tag`; Docker Hub's names go without the registry (`ann/web:1`). */
export function pushTarget(registry: string, repositoryTag: string): string {
  const r = registry.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const repo = repositoryTag.trim().replace(/^\/+/, '');
  if (!repo) return '';
  return !r || r === 'docker.io' || r === 'index.docker.io' ? repo : `${r}/${repo}`;
}
