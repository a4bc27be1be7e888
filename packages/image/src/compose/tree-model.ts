import { splitParent } from '../layers/entry-path.js';
import { LayerConflictError } from '../errors/layer-errors.js';
import type { LayerEntry, LayerIndex } from '../layers/layer-index.js';

/**
 * An inode of the composed tree: a content file of some layer, a symlink, or a device/FIFO
 * that is recorded but never created. Hardlinked paths share one Inode object.
 */
export interface Inode {
  kind: 'file' | 'symlink' | 'special';
  /** Position of the layer that created it (0 = bottom). */
  layer: number;
  entry: LayerEntry;
  /** Hardlink entries that named it, plus one: above 1, it may have several paths in the tree. */
  links: number;
}

export interface DirNode {
  kind: 'dir';
  children: Map<string, TreeNode>;
  /** Header that last set this directory's metadata; undefined for an implied parent. */
  entry: LayerEntry | undefined;
  /** Last layer that created or passed through this node (umoci's "upper paths"). */
  upper: number;
}

export interface LeafNode {
  kind: 'leaf';
  inode: Inode;
  upper: number;
}

export type TreeNode = DirNode | LeafNode;

/** Symlinks followed while resolving one path before giving up (as filepath-securejoin does). */
const MAX_SYMLINK_HOPS = 255;

/**
 * The rootfs an ordered list of layers describes, built in memory. Path components are
 * resolved through the tree's own symlinks, confined to its root: an absolute target restarts
 * at the root and `..` stops there, so no layer can reach anything outside the tree. The rules
 * follow `umoci raw unpack`: entries apply in archive order; whiteouts and opaque markers
 * remove only what lower layers made (never what the same layer added, whatever the order);
 * a directory over a directory merges; anything else replaces what was there.
 */
export class RootfsTree {
  readonly root: DirNode = { kind: 'dir', children: new Map(), entry: undefined, upper: -1 };
  private layer = -1;

  applyLayer(index: LayerIndex, layer: number): void {
    this.layer = layer;
    for (const e of index.entries) this.applyEntry(e);
  }

  private applyEntry(e: LayerEntry): void {
    if (e.type === 'whiteout') return this.removeLower(e);
    if (e.type === 'opaque') {
      const dir = this.resolveDir(e.path, e, false)?.at(-1);
      if (dir) this.wipeLowerChildren(dir);
      return;
    }
    if (e.path === '') {
      if (e.type === 'dir') this.root.entry = e;
      return;
    }
    const { parent, name } = splitParent(e.path);
    const stack = this.resolveDir(parent, e, true);
    const dir = stack.at(-1) as DirNode;
    const existing = dir.children.get(name);
    for (const d of stack) d.upper = this.layer;
    if (e.type === 'dir' && existing?.kind === 'dir') {
      existing.entry = e;
      existing.upper = this.layer;
      return;
    }
    if (existing) dir.children.delete(name);
    dir.children.set(name, this.makeNode(e));
  }

  private makeNode(e: LayerEntry): TreeNode {
    const upper = this.layer;
    switch (e.type) {
      case 'dir':
        return { kind: 'dir', children: new Map(), entry: e, upper };
      case 'hardlink': {
        const inode = this.linkTarget(e);
        inode.links++;
        return { kind: 'leaf', inode, upper };
      }
      case 'file':
        return { kind: 'leaf', inode: { kind: 'file', layer: upper, entry: e, links: 1 }, upper };
      case 'symlink':
        return { kind: 'leaf', inode: { kind: 'symlink', layer: upper, entry: e, links: 1 }, upper };
      default:
        return { kind: 'leaf', inode: { kind: 'special', layer: upper, entry: e, links: 1 }, upper };
    }
  }

  /** A hardlink names an existing non-directory; its last component is not followed. */
  private linkTarget(e: LayerEntry): Inode {
    const { parent, name } = splitParent(e.linkname ?? '');
    const dir = name === '' ? undefined : this.resolveDir(parent, e, false)?.at(-1);
    const target = dir?.children.get(name);
    if (!target || target.kind !== 'leaf') {
      throw new LayerConflictError(
        'hardlink-target',
        e.path,
        this.layer,
        `hardlink target ${JSON.stringify(e.linkname)} is ${target ? 'a directory' : 'missing'} in the image`,
      );
    }
    return target.inode;
  }

  private removeLower(e: LayerEntry): void {
    const { parent, name } = splitParent(e.path);
    const dir = this.resolveDir(parent, e, false)?.at(-1);
    const target = dir?.children.get(name);
    if (!dir || !target) return;
    if (target.upper !== this.layer) dir.children.delete(name);
    else if (target.kind === 'dir') this.wipeLowerChildren(target);
  }

  private wipeLowerChildren(dir: DirNode): void {
    for (const [name, child] of dir.children) {
      if (child.upper !== this.layer) dir.children.delete(name);
      else if (child.kind === 'dir') this.wipeLowerChildren(child);
    }
  }

  /**
   * Resolves a directory path through symlinks inside the tree and returns the chain of
   * directories from the root. Missing components are kept lexically (a later `..` may undo
   * them); with `create` they become implied directories, without it the result is undefined.
   */
  private resolveDir(path: string, e: LayerEntry, create: true): DirNode[];
  private resolveDir(path: string, e: LayerEntry, create: false): DirNode[] | undefined;
  private resolveDir(path: string, e: LayerEntry, create: boolean): DirNode[] | undefined {
    const stack: Array<DirNode | undefined> = [this.root];
    const names: string[] = [''];
    const todo = path === '' ? [] : path.split('/').reverse();
    let hops = 0;
    while (todo.length > 0) {
      const c = todo.pop() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length > 1) {
          stack.pop();
          names.pop();
        }
        continue;
      }
      const child = stack.at(-1)?.children.get(c);
      if (!child || child.kind === 'dir') {
        stack.push(child);
        names.push(c);
        continue;
      }
      if (child.inode.kind !== 'symlink') {
        if (!create) return undefined;
        throw new LayerConflictError('not-a-directory', e.path, this.layer, `${JSON.stringify(c)} in its path is not a directory`);
      }
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new LayerConflictError('symlink-loop', e.path, this.layer, 'too many levels of symbolic links in its path');
      }
      const target = child.inode.entry.linkname ?? '';
      if (target.startsWith('/')) {
        stack.length = 1;
        names.length = 1;
      }
      for (const part of target.split('/').reverse()) todo.push(part);
    }
    if (stack.every((d): d is DirNode => d !== undefined)) return stack;
    if (!create) return undefined;
    for (let i = 1; i < stack.length; i++) {
      if (stack[i]) continue;
      const made: DirNode = { kind: 'dir', children: new Map(), entry: undefined, upper: this.layer };
      (stack[i - 1] as DirNode).children.set(names[i] as string, made);
      stack[i] = made;
    }
    return stack as DirNode[];
  }
}

/** Builds the tree of `layers`, bottom first. */
export function buildTree(layers: LayerIndex[]): RootfsTree {
  const tree = new RootfsTree();
  layers.forEach((index, i) => tree.applyLayer(index, i));
  return tree;
}
