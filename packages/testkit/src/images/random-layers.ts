import { climbTo, ESCAPE_MARKER } from './hostile-corpus.js';
import type { TarEntry } from './tar-writer.js';

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

/** Options of {@link randomLayerStack}. */
export interface RandomStackOptions {
  seed: number;
  /**
   * Mix in escapes (symlinks to `/`, to `victim` or climbing, writes, hardlinks and whiteouts
   * through them, `..` and absolute names). Without it, every stack is one `umoci raw unpack`
   * applies: parents before children, no write through a symlink, links to existing files.
   */
  hostile?: boolean;
  /** Absolute host directory hostile stacks aim at (required with `hostile`). */
  victim?: string;
  /** Layer count range, default [3, 5]. */
  layers?: [number, number];
  /** Operations per layer, default [4, 14]. */
  opsPerLayer?: [number, number];
}

/** A generated stack: layers of tar entries, bottom first. */
export interface RandomStack {
  seed: number;
  hostile: boolean;
  layers: TarEntry[][];
}

type NodeType = 'file' | 'dir' | 'symlink';

/** The merged tree as the generator believes it to be after the layers so far. */
type Model = Map<string, NodeType>;

interface LayerState {
  entries: TarEntry[];
  /** Paths this layer already named (a path appears once per layer). */
  used: Set<string>;
  /** Paths removed or replaced in this layer: nothing at or below them may be named again. */
  locked: string[];
}

const NAMES = ['a', 'b', 'c', 'bin', 'etc', 'lib', 'usr', 'var', 'x', 'y', 'data', 'conf'];

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function isUnder(p: string, root: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

class StackGenerator {
  private readonly model: Model = new Map();
  private mtime = 1_600_000_000;

  constructor(
    private readonly rnd: SeededRandom,
    private readonly opts: RandomStackOptions,
  ) {}

  generate(): TarEntry[][] {
    const [lo, hi] = this.opts.layers ?? [3, 5];
    const count = this.rnd.int(lo, hi);
    const out: TarEntry[][] = [];
    for (let i = 0; i < count; i++) out.push(this.layer(i));
    return out;
  }

  private layer(index: number): TarEntry[] {
    const st: LayerState = { entries: [], used: new Set(), locked: [] };
    const [lo, hi] = this.opts.opsPerLayer ?? [4, 14];
    const ops = index === 0 ? Math.max(hi, 8) : this.rnd.int(lo, hi);
    for (let i = 0; i < ops; i++) this.op(st, index);
    if (this.opts.hostile && this.rnd.chance(0.4)) this.hostileOp(st);
    return st.entries;
  }

  private free(st: LayerState, p: string): boolean {
    if (st.used.has(p)) return false;
    return !st.locked.some((l) => isUnder(p, l));
  }

  private dirs(): string[] {
    return ['', ...[...this.model].filter(([, t]) => t === 'dir').map(([p]) => p)];
  }

  private paths(type?: NodeType): string[] {
    return [...this.model].filter(([, t]) => type === undefined || t === type).map(([p]) => p);
  }

  private newName(dir: string): string | undefined {
    for (let tries = 0; tries < 8; tries++) {
      let name = this.rnd.pick(NAMES) + (this.rnd.chance(0.5) ? String(this.rnd.int(0, 9)) : '');
      if (this.rnd.chance(0.04)) name = `long-${'n'.repeat(this.rnd.int(90, 140))}`;
      if (this.rnd.chance(0.03)) name = `ünï-${this.rnd.int(0, 9)}`;
      const p = dir ? `${dir}/${name}` : name;
      if (!this.model.has(p)) return p;
    }
    return undefined;
  }

  private stamp(): number {
    this.mtime += this.rnd.int(1, 100_000);
    return this.mtime;
  }

  private emit(st: LayerState, e: TarEntry, p: string): void {
    st.entries.push(e);
    st.used.add(p);
  }

  private op(st: LayerState, layer: number): void {
    const roll = this.rnd.next();
    if (layer === 0 || roll < 0.3) return this.addFile(st);
    if (roll < 0.42) return void this.addDir(st);
    if (roll < 0.52) return this.addSymlink(st);
    if (roll < 0.6) return this.addHardlink(st);
    if (roll < 0.7) return this.overwrite(st);
    if (roll < 0.8) return this.replaceType(st);
    if (roll < 0.9) return this.whiteout(st);
    return this.opaque(st);
  }

  /** A dir to create in: an existing one this layer may touch, or a fresh one made now. */
  private targetDir(st: LayerState): string | undefined {
    const candidates = this.dirs().filter((d) => d === '' || this.free(st, d) || st.used.has(d));
    const dir = this.rnd.pick(candidates);
    if (dir !== '' && st.locked.some((l) => isUnder(dir, l) && !this.createdHere(st, dir))) return undefined;
    if (this.rnd.chance(0.3)) return this.addDir(st, dir) ?? dir;
    return dir;
  }

  private createdHere(st: LayerState, p: string): boolean {
    return st.used.has(p) && this.model.get(p) === 'dir';
  }

  private addFile(st: LayerState): void {
    const dir = this.targetDir(st);
    if (dir === undefined) return;
    const p = this.newName(dir);
    if (!p || !this.free(st, p)) return;
    const mode = this.rnd.pick([0o644, 0o644, 0o755, 0o600, 0o4755, 0o2755]);
    const uid = this.rnd.chance(0.2) ? 1000 : 0;
    this.emit(st, { path: p, type: 'file', mode, uid, gid: uid, mtime: this.stamp(), content: this.content() }, p);
    this.model.set(p, 'file');
  }

  private content(): Buffer {
    const n = this.rnd.pick([0, 1, 17, 100, 511, 512, 513, 3000]);
    return this.rnd.bytes(n);
  }

  private addDir(st: LayerState, parent?: string): string | undefined {
    const dir = parent ?? this.rnd.pick(this.dirs().filter((d) => d === '' || this.free(st, d) || st.used.has(d)));
    if (dir !== '' && st.locked.some((l) => isUnder(dir, l))) return undefined;
    const p = this.newName(dir);
    if (!p || !this.free(st, p)) return undefined;
    const mode = this.rnd.pick([0o755, 0o755, 0o750, 0o700, 0o1777]);
    this.emit(st, { path: `${p}/`, type: 'dir', mode, mtime: this.stamp() }, p);
    this.model.set(p, 'dir');
    return p;
  }

  private symlinkTarget(p: string): string {
    const depth = p.split('/').length - 1;
    const sibling = this.rnd.pick(this.paths().concat(['missing']));
    switch (this.rnd.int(0, 4)) {
      case 0:
        return sibling.split('/').pop() ?? 'x';
      case 1:
        return `/${sibling}`;
      case 2:
        return `dangling-${this.rnd.int(0, 99)}`;
      case 3:
        return `${'../'.repeat(depth + this.rnd.int(0, 2))}${sibling}`;
      default:
        return `/etc/${this.rnd.pick(['passwd', 'hosts', 'nothing'])}`;
    }
  }

  private addSymlink(st: LayerState): void {
    const dir = this.targetDir(st);
    if (dir === undefined) return;
    const p = this.newName(dir);
    if (!p || !this.free(st, p)) return;
    this.emit(st, { path: p, type: 'symlink', linkname: this.symlinkTarget(p), mtime: this.stamp() }, p);
    this.model.set(p, 'symlink');
  }

  private addHardlink(st: LayerState): void {
    const targets = this.paths('file').filter((f) => this.free(st, f) || st.used.has(f));
    if (targets.length === 0) return;
    const target = this.rnd.pick(targets);
    if (st.locked.some((l) => isUnder(target, l))) return;
    const dir = this.targetDir(st);
    if (dir === undefined) return;
    const p = this.newName(dir);
    if (!p || !this.free(st, p)) return;
    this.emit(st, { path: p, type: 'hardlink', linkname: target }, p);
    this.model.set(p, 'file');
  }

  private overwrite(st: LayerState): void {
    const files = this.paths('file').filter((f) => this.free(st, f) && this.parentFree(st, f));
    if (files.length === 0) return;
    const p = this.rnd.pick(files);
    this.emit(st, { path: p, type: 'file', mode: this.rnd.pick([0o644, 0o600, 0o755]), mtime: this.stamp(), content: this.content() }, p);
  }

  private parentFree(st: LayerState, p: string): boolean {
    const parent = parentOf(p);
    return !st.locked.some((l) => isUnder(parent, l) && l !== '');
  }

  private removeSubtree(p: string): void {
    for (const k of [...this.model.keys()]) if (isUnder(k, p)) this.model.delete(k);
  }

  private replaceType(st: LayerState): void {
    const all = this.paths().filter((f) => this.free(st, f) && this.parentFree(st, f) && !this.hasTouchedChildren(st, f));
    if (all.length === 0) return;
    const p = this.rnd.pick(all);
    const from = this.model.get(p);
    const to = this.rnd.pick((['file', 'dir', 'symlink'] as const).filter((t) => t !== from));
    this.removeSubtree(p);
    st.locked.push(p);
    if (to === 'file') this.emit(st, { path: p, type: 'file', mtime: this.stamp(), content: this.content() }, p);
    if (to === 'dir') this.emit(st, { path: `${p}/`, type: 'dir', mode: 0o755, mtime: this.stamp() }, p);
    if (to === 'symlink') this.emit(st, { path: p, type: 'symlink', linkname: this.symlinkTarget(p), mtime: this.stamp() }, p);
    this.model.set(p, to);
  }

  private hasTouchedChildren(st: LayerState, p: string): boolean {
    return [...st.used].some((u) => u !== p && isUnder(u, p));
  }

  private whiteout(st: LayerState): void {
    const all = this.paths().filter((f) => this.free(st, f) && this.parentFree(st, f) && !this.hasTouchedChildren(st, f));
    if (all.length === 0) return;
    const p = this.rnd.pick(all);
    const parent = parentOf(p);
    const name = p.slice(parent ? parent.length + 1 : 0);
    const wh = parent ? `${parent}/.wh.${name}` : `.wh.${name}`;
    this.removeSubtree(p);
    st.locked.push(p);
    this.emit(st, { path: wh, type: 'file', content: '', mtime: this.stamp() }, wh);
  }

  /** An opaque whiteout in an existing dir, with new children before and after the marker. */
  private opaque(st: LayerState): void {
    const dirs = this.paths('dir').filter((d) => this.free(st, d) && this.parentFree(st, d) && !this.hasTouchedChildren(st, d));
    if (dirs.length === 0) return;
    const d = this.rnd.pick(dirs);
    for (const k of [...this.model.keys()]) if (k !== d && isUnder(k, d)) this.model.delete(k);
    const children = this.rnd.int(0, 3);
    const markerAt = this.rnd.int(0, children);
    for (let i = 0; i <= children; i++) {
      if (i === markerAt) {
        const m = `${d}/.wh..wh..opq`;
        this.emit(st, { path: m, type: 'file', content: '', mtime: this.stamp() }, m);
      }
      if (i === children) break;
      const p = this.newName(d);
      if (!p || st.used.has(p)) continue;
      this.emit(st, { path: p, type: 'file', mtime: this.stamp(), content: this.content() }, p);
      this.model.set(p, 'file');
    }
    // The opaque dir's lower content is gone; only this layer's new children may be named again.
    st.used.add(d);
  }

  private hostileOp(st: LayerState): void {
    const victim = this.opts.victim ?? '/nonexistent-victim';
    const tag = `${ESCAPE_MARKER}-r${this.rnd.int(0, 1e6)}`;
    const evil = `evil${this.rnd.int(0, 1e6)}`;
    const via = this.rnd.pick(['/', victim, climbTo(victim), '../../..', `${climbTo(victim)}/etc`]);
    const plant = this.model.has(evil) || !this.free(st, evil) ? undefined : evil;
    if (plant) {
      this.emit(st, { path: plant, type: 'symlink', linkname: via }, plant);
      this.model.set(plant, 'symlink');
    }
    const viaSymlink = this.paths('symlink');
    const through = viaSymlink.length > 0 ? this.rnd.pick(viaSymlink) : evil;
    const hostPath = via === '/' ? `${through}${victim}` : through;
    switch (this.rnd.int(0, 6)) {
      case 0:
        return void st.entries.push({ path: `${hostPath}/${tag}`, type: 'file', content: 'escaped\n' });
      case 1:
        return void st.entries.push({ path: `${through}/passwd`, type: 'file', content: 'overwritten\n' });
      case 2:
        return void st.entries.push({ path: `h${tag}`, type: 'hardlink', linkname: this.rnd.pick([`${victim}/passwd`, '/etc/passwd', `${through}/passwd`]) });
      case 3:
        return void st.entries.push({ path: `${through}/.wh.passwd`, type: 'file', content: '' });
      case 4:
        return void st.entries.push({ path: `${through}/.wh..wh..opq`, type: 'file', content: '' });
      case 5:
        return void st.entries.push({ path: climbTo(`${victim}/${tag}`, this.rnd.int(1, 40)), type: 'file', content: 'escaped\n' });
      default:
        return void st.entries.push({ path: `${victim}/${tag}`, type: 'file', content: 'escaped\n' });
    }
  }
}

/**
 * Generates a random stack of layers from `seed` (3-5 layers by default): files (with setuid,
 * odd sizes, long and non-ASCII names), directories, symlinks (relative, absolute, dangling,
 * climbing), hardlinks to files of this or lower layers, overwrites, type replacements across
 * layers, file whiteouts and opaque whiteouts with new siblings before and after the marker.
 * The same seed always gives the same stack.
 */
export function randomLayerStack(opts: RandomStackOptions): RandomStack {
  if (opts.hostile && !opts.victim?.startsWith('/')) throw new TypeError('a hostile stack needs an absolute victim path');
  const rnd = new SeededRandom(opts.seed);
  const layers = new StackGenerator(rnd, opts).generate();
  return { seed: opts.seed, hostile: opts.hostile === true, layers };
}
