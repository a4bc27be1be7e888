import { splitParent } from '../layers/entry-path.js';
import { LayerConflictError } from '../errors/layer-errors.js';
import type { LayerEntry, LayerIndex } from '../layers/layer-index.js';
import { EntryRecords, resized, type EntryMeta } from './entry-records.js';

/** What an inode of the composed tree is: a content file, a symlink, or a device/FIFO that is recorded but never created. */
export type InodeKind = 'file' | 'symlink' | 'special';

/** Symlinks followed while resolving one path before giving up (as filepath-securejoin does). */
const MAX_SYMLINK_HOPS = 255;

const DIR = 0;
const LEAF = 1;
/** No node, no record. */
const NONE = -1;
/** Hash slots: empty, and removed (a probe goes on past it). */
const EMPTY = 0;
const REMOVED = -1;

/**
 * The rootfs an ordered list of layers describes, built in memory. Path components are
 * resolved through the tree's own symlinks, confined to its root: an absolute target restarts
 * at the root and `..` stops there, so no layer can reach anything outside the tree. The rules
 * follow `umoci raw unpack`: entries apply in archive order; whiteouts and opaque markers
 * remove only what lower layers made (never what the same layer added, whatever the order);
 * a directory over a directory merges; anything else replaces what was there.
 *
 * The tree is compact, for images of millions of paths: nodes are numbers (the root is
 * {@link RootfsTree.root}) with their fields in typed arrays, children are found through one
 * hash table keyed by parent and name, each distinct name is held once, and the entries the tree
 * refers to are kept in columns ({@link EntryRecords}), not as objects. Entries are applied one at
 * a time and not kept, so an index can be streamed into it. A leaf refers to its inode by the
 * record of the entry that created it: hardlinked paths share that record, and two trees built
 * from the same layers in the same order number their records alike.
 */
export class RootfsTree {
  readonly root = 0;
  private readonly records = new EntryRecords();
  private layer = -1;
  private cap = 0;
  private n = 0;
  private kind = new Uint8Array(0);
  private name = new Int32Array(0);
  private parent = new Int32Array(0);
  /** Directory: the record that last set its metadata (NONE for an implied parent). Leaf: its inode's record. */
  private ref = new Int32Array(0);
  /** Last layer that created or passed through this node (umoci's "upper paths"). */
  private upper = new Int16Array(0);
  private first = new Int32Array(0);
  private last = new Int32Array(0);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private slots = new Int32Array(1024);
  private slotsUsed = 0;
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  /** Hardlink entries that named an inode, plus one, for inodes named by any. */
  private readonly linkCounts = new Map<number, number>();

  constructor() {
    this.newNode(DIR, NONE, NONE, NONE);
  }

  /**
   * Makes room for about `entries` more entries at once (the layers' entry counts, when known):
   * growing as entries come copies every column several times and leaves up to a third unused.
   */
  reserve(entries: number): void {
    this.records.reserve(this.records.count + entries);
    if (this.n + entries + 1 > this.cap) this.grow(this.n + entries + 1);
    let size = this.slots.length;
    while (size < (this.slotsUsed + entries + 1) * 3) size *= 2;
    if (size > this.slots.length) this.rehash(size);
  }

  /** Applies the entries that follow to layer `layer` (0 = bottom; layers come in order). */
  beginLayer(layer: number): void {
    this.layer = layer;
  }

  /** Applies every entry of `index` as layer `layer`. */
  applyLayer(index: LayerIndex, layer: number): void {
    this.beginLayer(layer);
    for (const e of index.entries) this.apply(e);
  }

  /** Applies one entry of the current layer; the tree keeps no reference to `e`. */
  apply(e: LayerEntry): void {
    if (e.type === 'whiteout') return this.removeLower(e);
    if (e.type === 'opaque') {
      const dir = this.resolveDir(e.path, e, false)?.at(-1);
      if (dir !== undefined) this.wipeLowerChildren(dir);
      return;
    }
    if (e.path === '') {
      if (e.type === 'dir') this.ref[this.root] = this.records.add(e, this.layer);
      return;
    }
    const { parent, name } = splitParent(e.path);
    const stack = this.resolveDir(parent, e, true);
    const dir = stack.at(-1)!;
    const existing = this.child(dir, name);
    for (const d of stack) this.upper[d] = this.layer;
    if (e.type === 'dir' && existing !== NONE && this.kind[existing] === DIR) {
      this.ref[existing] = this.records.add(e, this.layer);
      this.upper[existing] = this.layer;
      return;
    }
    if (existing !== NONE) this.unlink(existing);
    this.makeNode(e, dir, name);
  }

  // --- reading the tree -------------------------------------------------------------------

  isDir(node: number): boolean {
    return this.kind[node] === DIR;
  }

  /** A directory's metadata; undefined for an implied parent. */
  dirEntry(node: number): EntryMeta | undefined {
    const r = this.ref[node]!;
    return r === NONE ? undefined : this.records.get(r);
  }

  /** A directory's record, or -1 for an implied parent. */
  dirRecord(node: number): number {
    return this.ref[node]!;
  }

  /** A leaf's inode: the record of the entry that created it. */
  inode(node: number): number {
    return this.ref[node]!;
  }

  inodeKind(inode: number): InodeKind {
    const t = this.records.typeOf(inode);
    return t === 'file' || t === 'symlink' ? t : 'special';
  }

  /** Position of the layer that created this inode (or set this directory record). */
  layerOf(record: number): number {
    return this.records.layerOf(record);
  }

  /** Hardlink entries that named the inode, plus one: above 1, it may have several paths in the tree. */
  links(inode: number): number {
    return this.linkCounts.get(inode) ?? 1;
  }

  /** The entry of a record (an inode, or a directory's record) as an object, made on each call. */
  entry(record: number): EntryMeta {
    return this.records.get(record);
  }

  hasXattrs(record: number): boolean {
    return record !== NONE && this.records.hasXattrs(record);
  }

  /** A node's children, in the order they were added. */
  *children(dir: number): Generator<number> {
    for (let c = this.first[dir]!; c !== NONE; ) {
      const next = this.next[c]!;
      yield c;
      c = next;
    }
  }

  /** A node's children with their names, sorted by name (UTF-16 code units, as `Array.prototype.sort`). */
  sortedChildren(dir: number): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (let c = this.first[dir]!; c !== NONE; c = this.next[c]!) out.push([this.names[this.name[c]!]!, c]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  nameOf(node: number): string {
    return this.names[this.name[node]!]!;
  }

  /** The child of `dir` called `name`, or -1. */
  child(dir: number, name: string): number {
    const id = this.nameIds.get(name);
    return id === undefined ? NONE : this.lookup(dir, id);
  }

  // --- building -------------------------------------------------------------------------

  private makeNode(e: LayerEntry, dir: number, name: string): void {
    const nameId = this.intern(name);
    if (e.type === 'dir') {
      this.newNode(DIR, nameId, dir, this.records.add(e, this.layer));
      return;
    }
    if (e.type === 'hardlink') {
      const inode = this.linkTarget(e);
      this.linkCounts.set(inode, this.links(inode) + 1);
      this.newNode(LEAF, nameId, dir, inode);
      return;
    }
    this.newNode(LEAF, nameId, dir, this.records.add(e, this.layer));
  }

  /** A hardlink names an existing non-directory; its last component is not followed. */
  private linkTarget(e: LayerEntry): number {
    const { parent, name } = splitParent(e.linkname ?? '');
    const dir = name === '' ? undefined : this.resolveDir(parent, e, false)?.at(-1);
    const target = dir === undefined ? NONE : this.child(dir, name);
    if (target === NONE || this.kind[target] === DIR) {
      throw new LayerConflictError(
        'hardlink-target',
        e.path,
        this.layer,
        `hardlink target ${JSON.stringify(e.linkname)} is ${target !== NONE ? 'a directory' : 'missing'} in the image`,
      );
    }
    return this.ref[target]!;
  }

  private removeLower(e: LayerEntry): void {
    const { parent, name } = splitParent(e.path);
    const dir = this.resolveDir(parent, e, false)?.at(-1);
    const target = dir === undefined ? NONE : this.child(dir, name);
    if (target === NONE) return;
    if (this.upper[target] !== this.layer) this.unlink(target);
    else if (this.kind[target] === DIR) this.wipeLowerChildren(target);
  }

  private wipeLowerChildren(dir: number): void {
    for (const child of this.children(dir)) {
      if (this.upper[child] !== this.layer) this.unlink(child);
      else if (this.kind[child] === DIR) this.wipeLowerChildren(child);
    }
  }

  /**
   * Resolves a directory path through symlinks inside the tree and returns the chain of
   * directories from the root. Missing components are kept lexically (a later `..` may undo
   * them); with `create` they become implied directories, without it the result is undefined.
   */
  private resolveDir(path: string, e: LayerEntry, create: true): number[];
  private resolveDir(path: string, e: LayerEntry, create: false): number[] | undefined;
  private resolveDir(path: string, e: LayerEntry, create: boolean): number[] | undefined {
    const stack: number[] = [this.root];
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
      const top = stack.at(-1)!;
      const child = top === NONE ? NONE : this.child(top, c);
      if (child === NONE || this.kind[child] === DIR) {
        stack.push(child);
        names.push(c);
        continue;
      }
      const inode = this.ref[child]!;
      if (this.records.typeOf(inode) !== 'symlink') {
        if (!create) return undefined;
        throw new LayerConflictError('not-a-directory', e.path, this.layer, `${JSON.stringify(c)} in its path is not a directory`);
      }
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new LayerConflictError('symlink-loop', e.path, this.layer, 'too many levels of symbolic links in its path');
      }
      const target = this.records.linknameOf(inode) ?? '';
      if (target.startsWith('/')) {
        stack.length = 1;
        names.length = 1;
      }
      for (const part of target.split('/').reverse()) todo.push(part);
    }
    if (stack.every((d) => d !== NONE)) return stack;
    if (!create) return undefined;
    for (let i = 1; i < stack.length; i++) {
      if (stack[i] !== NONE) continue;
      stack[i] = this.newNode(DIR, this.intern(names[i]!), stack[i - 1]!, NONE);
    }
    return stack;
  }

  private intern(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  /** A new node, last among its parent's children (as a name set again in a Map moves to the end). */
  private newNode(kind: number, name: number, parent: number, ref: number): number {
    if (this.n === this.cap) this.grow();
    const node = this.n++;
    this.kind[node] = kind;
    this.name[node] = name;
    this.parent[node] = parent;
    this.ref[node] = ref;
    this.upper[node] = this.layer;
    this.first[node] = NONE;
    this.last[node] = NONE;
    this.next[node] = NONE;
    this.prev[node] = parent === NONE ? NONE : this.last[parent]!;
    if (parent === NONE) return node;
    if (this.last[parent] === NONE) this.first[parent] = node;
    else this.next[this.last[parent]!] = node;
    this.last[parent] = node;
    this.insertSlot(node);
    return node;
  }

  /** Takes a node (and so everything under it) out of the tree. */
  private unlink(node: number): void {
    const p = this.parent[node]!;
    const prev = this.prev[node]!;
    const next = this.next[node]!;
    if (prev === NONE) this.first[p] = next;
    else this.next[prev] = next;
    if (next === NONE) this.last[p] = prev;
    else this.prev[next] = prev;
    const mask = this.slots.length - 1;
    for (let i = this.slotOf(p, this.name[node]!); ; i = (i + 1) & mask) {
      if (this.slots[i] === node + 1) {
        this.slots[i] = REMOVED;
        return;
      }
    }
  }

  private slotOf(parent: number, name: number): number {
    let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(name + 1, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & (this.slots.length - 1);
  }

  private lookup(parent: number, name: number): number {
    const mask = this.slots.length - 1;
    for (let i = this.slotOf(parent, name); ; i = (i + 1) & mask) {
      const s = this.slots[i]!;
      if (s === EMPTY) return NONE;
      if (s === REMOVED) continue;
      const node = s - 1;
      if (this.parent[node] === parent && this.name[node] === name) return node;
    }
  }

  private insertSlot(node: number): void {
    // Removed slots count as used until the table is rebuilt: a probe must meet an empty one.
    if ((this.slotsUsed + 1) * 2 > this.slots.length) this.rehash();
    const mask = this.slots.length - 1;
    let i = this.slotOf(this.parent[node]!, this.name[node]!);
    while (this.slots[i] !== EMPTY) i = (i + 1) & mask;
    this.slots[i] = node + 1;
    this.slotsUsed++;
  }

  /** Rebuilds the hash table from the live nodes, at least at `min` slots and at most a quarter full. */
  private rehash(min = 1024): void {
    const live: number[] = [];
    for (const s of this.slots) if (s > 0) live.push(s - 1);
    let size = 1024;
    while (size < min || size < (live.length + 1) * 4) size *= 2;
    this.slots = new Int32Array(size);
    this.slotsUsed = 0;
    const mask = size - 1;
    for (const node of live) {
      let i = this.slotOf(this.parent[node]!, this.name[node]!);
      while (this.slots[i] !== EMPTY) i = (i + 1) & mask;
      this.slots[i] = node + 1;
      this.slotsUsed++;
    }
  }

  private grow(to = Math.max(1024, Math.ceil(this.cap * 1.5))): void {
    const cap = to;
    this.kind = resized(this.kind, new Uint8Array(cap));
    this.name = resized(this.name, new Int32Array(cap));
    this.parent = resized(this.parent, new Int32Array(cap));
    this.ref = resized(this.ref, new Int32Array(cap));
    this.upper = resized(this.upper, new Int16Array(cap));
    this.first = resized(this.first, new Int32Array(cap));
    this.last = resized(this.last, new Int32Array(cap));
    this.next = resized(this.next, new Int32Array(cap));
    this.prev = resized(this.prev, new Int32Array(cap));
    this.cap = cap;
  }
}

/** Builds the tree of `layers`, bottom first. */
export function buildTree(layers: LayerIndex[]): RootfsTree {
  const tree = new RootfsTree();
  layers.forEach((index, i) => tree.applyLayer(index, i));
  return tree;
}
