import type { EntryMeta } from './entry-records.js';
import type { RootfsTree } from './tree-model.js';

/**
 * What turns a tree already made on disk (`lower`: the rootfs of the bottom layers, made while
 * the upper layers were still downloading) into the full image's tree (`final`):
 * - `removals`: paths to remove (a directory with everything under it), none inside another;
 * - `dirs`, `files`, `symlinks`: what to make afterwards, as a fresh compose would;
 * - `links`: new paths of symlinks that are already on disk at a kept path (hardlinks of them).
 * Directory metadata is not part of it: every directory's is set once the tree is complete.
 * Directories are given by their record in `final` (-1 for an implied parent).
 */
export interface TreeUpdate {
  /** Paths of `lower` that stay as they are on disk. */
  kept: number;
  removals: string[];
  dirs: Array<{ path: string; record: number; depth: number }>;
  files: Array<{ path: string; layer: number; id: number }>;
  symlinks: Array<{ path: string; entry: EntryMeta; links: string[] }>;
  links: Array<{ from: string; path: string }>;
}

/**
 * Computes the {@link TreeUpdate} from `lower` (on disk) to `final`. Both trees are built from
 * the same bottom layers in the same order, so an inode is identified by its record number: the
 * same store file (or the same symlink record) whichever tree it came from.
 */
export function planTreeUpdate(lower: RootfsTree, final: RootfsTree): TreeUpdate {
  const update: TreeUpdate = { kept: 0, removals: [], dirs: [], files: [], symlinks: [], links: [] };
  // Symlink inodes, known by their record: those still on disk after the removals, with one of
  // their kept paths, and those to make, with all their paths.
  const keptSymlinks = new Map<number, string>();
  const newSymlinks = new Map<number, string[]>();

  /** Whether node `l` of `lower` stands unchanged in `final` as node `f`, at the same path. */
  const sameNode = (l: number, f: number): boolean => {
    if (lower.isDir(l) || final.isDir(f)) return lower.isDir(l) === final.isDir(f);
    return lower.inode(l) === final.inode(f);
  };

  const addLeaf = (leaf: number, path: string): void => {
    const inode = final.inode(leaf);
    const kind = final.inodeKind(inode);
    if (kind === 'file') update.files.push({ path, layer: final.layerOf(inode), id: final.entry(inode).id ?? 0 });
    else if (kind === 'symlink') {
      const paths = newSymlinks.get(inode);
      if (paths) paths.push(path);
      else newSymlinks.set(inode, [path]);
    }
    // Devices and FIFOs are never made.
  };

  const addSubtree = (dir: number, path: string, depth: number): void => {
    update.dirs.push({ path, record: final.dirRecord(dir), depth });
    for (const child of final.children(dir)) {
      const childPath = `${path}/${final.nameOf(child)}`;
      if (final.isDir(child)) addSubtree(child, childPath, depth + 1);
      else addLeaf(child, childPath);
    }
  };

  const walk = (l: number, f: number, path: string, depth: number): void => {
    const at = (name: string) => (path === '' ? name : `${path}/${name}`);
    for (const lc of lower.children(l)) {
      const name = lower.nameOf(lc);
      const fc = final.child(f, name);
      if (fc >= 0 && sameNode(lc, fc)) continue;
      // A device or FIFO of the lower tree was never made: nothing to remove.
      if (!lower.isDir(lc) && lower.inodeKind(lower.inode(lc)) === 'special') continue;
      update.removals.push(at(name));
    }
    for (const fc of final.children(f)) {
      const name = final.nameOf(fc);
      const lc = lower.child(l, name);
      const childPath = at(name);
      const kept = lc >= 0 && sameNode(lc, fc);
      if (kept) update.kept++;
      if (final.isDir(fc)) {
        if (kept) walk(lc, fc, childPath, depth + 1);
        else addSubtree(fc, childPath, depth + 1);
        continue;
      }
      if (!kept) addLeaf(fc, childPath);
      else {
        const inode = final.inode(fc);
        if (final.inodeKind(inode) === 'symlink' && !keptSymlinks.has(inode)) keptSymlinks.set(inode, childPath);
      }
    }
  };
  walk(lower.root, final.root, '', 0);

  for (const [inode, paths] of newSymlinks) {
    const kept = keptSymlinks.get(inode);
    if (kept !== undefined) for (const path of paths) update.links.push({ from: kept, path });
    else update.symlinks.push({ path: paths[0]!, entry: final.entry(inode), links: paths.slice(1) });
  }
  return update;
}
