import type { LayerEntry } from '../layers/layer-index.js';
import type { DirNode, Inode, LeafNode, TreeNode } from './tree-model.js';

/**
 * What turns a tree already made on disk (`lower`: the rootfs of the bottom layers, made while
 * the upper layers were still downloading) into the full image's tree (`final`):
 * - `removals`: paths to remove (a directory with everything under it), none inside another;
 * - `dirs`, `files`, `symlinks`: what to make afterwards, as a fresh compose would;
 * - `links`: new paths of symlinks that are already on disk at a kept path (hardlinks of them).
 * Directory metadata is not part of it: every directory's is set once the tree is complete.
 */
export interface TreeUpdate {
  /** Paths of `lower` that stay as they are on disk. */
  kept: number;
  removals: string[];
  dirs: Array<{ path: string; entry: LayerEntry | undefined; depth: number }>;
  files: Array<{ path: string; layer: number; id: number }>;
  symlinks: Array<{ path: string; entry: LayerEntry; links: string[] }>;
  links: Array<{ from: string; path: string }>;
}

/**
 * Whether a node of `lower` stands unchanged in `final` at the same path. Both trees are built
 * from the same layer index objects, so an inode is identified by its layer and its entry: the
 * same store file (or the same symlink record) whichever tree it came from.
 */
function sameNode(l: TreeNode, f: TreeNode): boolean {
  if (l.kind === 'dir' || f.kind === 'dir') return l.kind === f.kind;
  return sameInode(l.inode, f.inode);
}

function sameInode(a: Inode, b: Inode): boolean {
  return a.kind === b.kind && a.layer === b.layer && a.entry === b.entry;
}

/** Computes the {@link TreeUpdate} from `lower` (on disk) to `final`. */
export function planTreeUpdate(lower: DirNode, final: DirNode): TreeUpdate {
  const update: TreeUpdate = { kept: 0, removals: [], dirs: [], files: [], symlinks: [], links: [] };
  // Symlink inodes, known by their entry (each entry belongs to one layer): those still on disk
  // after the removals, with one of their kept paths, and those to make, with all their paths.
  const keptSymlinks = new Map<LayerEntry, string>();
  const newSymlinks = new Map<LayerEntry, string[]>();

  const addLeaf = (leaf: LeafNode, path: string): void => {
    const { inode } = leaf;
    if (inode.kind === 'file') update.files.push({ path, layer: inode.layer, id: inode.entry.id ?? 0 });
    else if (inode.kind === 'symlink') {
      const paths = newSymlinks.get(inode.entry);
      if (paths) paths.push(path);
      else newSymlinks.set(inode.entry, [path]);
    }
    // Devices and FIFOs are never made.
  };

  const addSubtree = (dir: DirNode, path: string, depth: number): void => {
    update.dirs.push({ path, entry: dir.entry, depth });
    for (const [name, child] of dir.children) {
      const childPath = `${path}/${name}`;
      if (child.kind === 'dir') addSubtree(child, childPath, depth + 1);
      else addLeaf(child, childPath);
    }
  };

  const walk = (l: DirNode, f: DirNode, path: string, depth: number): void => {
    const at = (name: string) => (path === '' ? name : `${path}/${name}`);
    for (const [name, lc] of l.children) {
      const fc = f.children.get(name);
      if (fc && sameNode(lc, fc)) continue;
      // A device or FIFO of the lower tree was never made: nothing to remove.
      if (lc.kind === 'leaf' && lc.inode.kind === 'special') continue;
      update.removals.push(at(name));
    }
    for (const [name, fc] of f.children) {
      const lc = l.children.get(name);
      const childPath = at(name);
      const kept = lc !== undefined && sameNode(lc, fc);
      if (kept) update.kept++;
      if (fc.kind === 'dir') {
        if (kept) walk(lc as DirNode, fc, childPath, depth + 1);
        else addSubtree(fc, childPath, depth + 1);
        continue;
      }
      if (!kept) addLeaf(fc, childPath);
      else if (fc.inode.kind === 'symlink' && !keptSymlinks.has(fc.inode.entry)) keptSymlinks.set(fc.inode.entry, childPath);
    }
  };
  walk(lower, final, '', 0);

  for (const [entry, paths] of newSymlinks) {
    const kept = keptSymlinks.get(entry);
    if (kept !== undefined) for (const path of paths) update.links.push({ from: kept, path });
    else update.symlinks.push({ path: paths[0]!, entry, links: paths.slice(1) });
  }
  return update;
}
