import { describe, expect, it } from 'vitest';
import type { FileChange } from './backend/backend';
import { buildTree, changeCounts, collapseChain, sortedChildren } from './layer-tree';

const f = (path: string, size: number, change: FileChange['change'] = 'added', kind: FileChange['kind'] = 'file'): FileChange => ({ path, change, kind, size });

describe('layer-tree', () => {
  it('nests paths and totals sizes and counts by directory', () => {
    const root = buildTree([f('usr', 0, 'added', 'dir'), f('usr/bin/a', 10), f('usr/bin/b', 30), f('etc/x', 5, 'changed'), f('tmp/cache', 700, 'deleted', 'dir')]);
    expect(root.size).toBe(745);
    const usr = root.children.get('usr')!;
    expect([usr.size, usr.count, usr.change]).toEqual([40, 2, 'added']);
    expect(usr.children.get('bin')!.change).toBeNull();
    expect(root.children.get('tmp')!.children.get('cache')!.size).toBe(700);
    expect(sortedChildren(root).map((n) => n.name)).toEqual(['tmp', 'usr', 'etc']);
  });

  it('collapses chains of lone directories and counts changes', () => {
    const files = [f('usr/lib/pkg/a.so', 1), f('usr/lib/pkg/b.so', 2), f('x', 1, 'deleted')];
    const usr = buildTree(files).children.get('usr')!;
    expect(collapseChain(usr).label).toBe('usr/lib/pkg');
    expect(collapseChain(usr).node.children.size).toBe(2);
    expect(changeCounts(files)).toEqual({ added: 2, changed: 0, deleted: 1, opaque: 0 });
  });

  it('counts only the paths a layer touches, not the directories they imply', () => {
    const files = Array.from({ length: 50_000 }, (_, i) => f(`d${i % 100}/e${i % 7}/file${i}`, i));
    const root = buildTree(files);
    expect(root.count).toBe(50_000);
    expect(root.children.size).toBe(100);
  });
});
