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

/** Which records a caller of {@link readImageOwners} needs. */
export interface ImageOwnersOptions {
  /**
   * Only the records of the devices and FIFOs this keeps (by root-relative path), and the root's.
   * When no layer records such a special file, the image's tree is not built at all, which costs
   * a fraction of a full answer on a large image.
   */
  specialFiles?: (path: string) => boolean;
}

const SPECIAL_TYPES = new Set<OwnedPath['type']>(['char', 'block', 'fifo']);

/** The owners of the tree the stored layers in `layerDirs` (bottom first) make. */
export async function readImageOwners(layerDirs: string[], opts: ImageOwnersOptions = {}): Promise<ImageOwners> {
  const indexes = await Promise.all(layerDirs.map((d) => readLayerIndex(d)));
  const wanted = opts.specialFiles;
  if (!wanted) return describeOwners(indexes);
  if (!recordsSpecialFile(indexes, wanted)) return new ImageOwners([rootRecord(indexes)]);
  const all = describeOwners(indexes);
  return new ImageOwners(all.entries.filter((e) => e.path === '' || (SPECIAL_TYPES.has(e.type) && wanted(e.path))));
}

/**
 * Whether any layer holds a device or FIFO at a path `wanted` keeps, or a hardlink there to a
 * path some layer holds one at (a special file in the tree is one of those: nothing else makes one).
 */
function recordsSpecialFile(indexes: LayerIndex[], wanted: (path: string) => boolean): boolean {
  const special = new Set<string>();
  for (const index of indexes) for (const e of index.entries) if (e.type === 'device' || e.type === 'fifo') special.add(e.path);
  for (const index of indexes) {
    for (const e of index.entries) {
      if ((e.type === 'device' || e.type === 'fifo') && wanted(e.path)) return true;
      if (e.type === 'hardlink' && e.linkname !== undefined && special.has(e.linkname) && wanted(e.path)) return true;
    }
  }
  return false;
}

/** The root directory's record: the last layer's that has one, as the tree gives it. */
function rootRecord(indexes: LayerIndex[]): OwnedPath {
  let meta: { uid: number; gid: number; mode: number } = IMPLIED_DIR;
  for (const index of indexes) for (const e of index.entries) if (e.path === '' && e.type === 'dir') meta = e;
  return { path: '', type: 'dir', uid: meta.uid, gid: meta.gid, mode: meta.mode };
}
