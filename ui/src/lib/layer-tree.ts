// A layer's file list as a directory tree for the layer explorer: built once per layer (linear in the
// number of paths), with each directory's totals, so the view renders only the directories the user opens.
import type { Change, EntryKind, FileChange } from './backend/backend';

export interface TreeNode {
  name: string;
  /** Inside the image, without a leading `/`. */
  path: string;
  /** What the layer did to this path itself (null: a directory only implied by paths below it). */
  change: Change | null;
  kind: EntryKind;
  /** Bytes of this entry, or for a directory, of everything below it. */
  size: number;
  link: string | null;
  /** Entries below, by name (directories only). */
  children: Map<string, TreeNode>;
  /** Paths below that the layer touches, this one excluded. */
  count: number;
}

const node = (name: string, path: string): TreeNode => ({
  name, path, change: null, kind: 'dir', size: 0, link: null, children: new Map(), count: 0,
});

/** The tree of `files` under an unnamed root. */
export function buildTree(files: FileChange[]): TreeNode {
  const root = node('', '');
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    if (parts.length === 0) continue;
    let at = root;
    for (let i = 0; i < parts.length; i++) {
      let next = at.children.get(parts[i]);
      if (!next) {
        next = node(parts[i], parts.slice(0, i + 1).join('/'));
        at.children.set(parts[i], next);
      }
      at = next;
    }
    at.change = f.change;
    at.kind = f.change === 'opaque' ? 'dir' : f.kind;
    at.link = f.link ?? null;
    // Files count their bytes; a deleted or opaque directory the bytes it hid; other directories none.
    at.size = f.kind === 'dir' && f.change !== 'deleted' && f.change !== 'opaque' ? 0 : f.size;
  }
  total(root);
  return root;
}

/** Adds what is below each directory to its own size and counts the touched paths below it. */
function total(n: TreeNode) {
  for (const c of n.children.values()) {
    total(c);
    n.size += c.size;
    n.count += c.count + (c.change === null ? 0 : 1);
  }
}

/** Directories first, then by size, largest first, then by name. */
export function sortedChildren(n: TreeNode): TreeNode[] {
  return [...n.children.values()].sort(
    (a, b) =>
      Number(b.children.size > 0 || b.kind === 'dir') - Number(a.children.size > 0 || a.kind === 'dir') ||
      b.size - a.size ||
      a.name.localeCompare(b.name),
  );
}

/** How many paths a layer adds, changes and deletes. */
export function changeCounts(files: FileChange[]): Record<Change, number> {
  const c: Record<Change, number> = { added: 0, changed: 0, deleted: 0, opaque: 0 };
  for (const f of files) c[f.change] += 1;
  return c;
}

/** A directory with a single child directory and nothing else of its own shows as one row (`usr/lib`). */
export function collapseChain(n: TreeNode): { label: string; node: TreeNode } {
  let label = n.name;
  let at = n;
  while (at.change === null && at.children.size === 1) {
    const only = [...at.children.values()][0];
    if (only.children.size === 0) break;
    label = `${label}/${only.name}`;
    at = only;
  }
  return { label, node: at };
}
