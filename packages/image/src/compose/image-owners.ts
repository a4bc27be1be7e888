import { readLayerIndex, type LayerIndex } from '../layers/layer-index.js';
import { buildTree } from './tree-model.js';

/** What the image says about one path of its rootfs: type, owner, group and mode. */
export interface OwnedPath {
  /** Root-relative path without a leading slash; `''` is the root directory. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';
  uid: number;
  gid: number;
  /** Permission bits with setuid, setgid and sticky (`0o7777`). */
  mode: number;
  /** Character and block devices: their numbers. */
  major?: number;
  minor?: number;
}

/**
 * The owners, groups, modes and types an image gives every path of its rootfs, as its layers
 * record them, whoever unpacked it: a rootfs unpacked without root belongs to that user on disk,
 * and holds no device nodes or FIFOs, but these records are the image's own. Hardlinked paths
 * each have a record (the same values). Devices from a layer stored by a bbox that did not
 * record their numbers are left out.
 */
export class ImageOwners {
  private readonly byPath: Map<string, OwnedPath>;

  constructor(readonly entries: OwnedPath[]) {
    this.byPath = new Map(entries.map((e) => [e.path, e]));
  }

  /** The record of `path` (`/etc/shadow` and `etc/shadow` alike); undefined when the image has no such path. */
  get(path: string): OwnedPath | undefined {
    return this.byPath.get(path.replace(/^\/+|\/+$/g, ''));
  }
}

const IMPLIED_DIR = { mode: 0o755, uid: 0, gid: 0 };

/** The records of the tree these layer indexes (bottom first) describe, parents before children. */
export function describeOwners(indexes: LayerIndex[]): ImageOwners {
  const tree = buildTree(indexes);
  const entries: OwnedPath[] = [];
  const visit = (dir: number, path: string): void => {
    const meta = tree.dirEntry(dir) ?? IMPLIED_DIR;
    entries.push({ path, type: 'dir', uid: meta.uid, gid: meta.gid, mode: meta.mode });
    for (const [name, child] of tree.sortedChildren(dir)) {
      const childPath = path === '' ? name : `${path}/${name}`;
      if (tree.isDir(child)) {
        visit(child, childPath);
        continue;
      }
      const inode = tree.inode(child);
      const kind = tree.inodeKind(inode);
      const e = tree.entry(inode);
      const base = { path: childPath, uid: e.uid, gid: e.gid, mode: e.mode };
      if (kind !== 'special') entries.push({ ...base, type: kind });
      else if (e.type === 'fifo') entries.push({ ...base, type: 'fifo' });
      else if (e.device) entries.push({ ...base, type: e.device.kind, major: e.device.major, minor: e.device.minor });
    }
  };
  visit(tree.root, '');
  return new ImageOwners(entries);
}

/** The owners of the tree the stored layers in `layerDirs` (bottom first) make. */
export async function readImageOwners(layerDirs: string[]): Promise<ImageOwners> {
  return describeOwners(await Promise.all(layerDirs.map((d) => readLayerIndex(d))));
}
