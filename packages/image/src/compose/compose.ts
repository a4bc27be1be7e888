import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runMaterialisePlan, type PlanDir, type PlanLink, type PlanStep } from './plan-runner.js';
import { storeFilePath, type LayerEntry, type LayerIndex } from '../layers/layer-index.js';
import { applyTreeXattrs, xattrSummary } from '../layers/xattrs.js';
import { buildTree, type DirNode, type Inode } from './tree-model.js';
import { planTreeUpdate, type TreeUpdate } from './tree-update.js';

/** A stored layer: its directory in the layer store and its index. */
export interface StoredLayer {
  dir: string;
  index: LayerIndex;
}

export interface ComposeOptions {
  /** Apply ownership to directories and symlinks (default: when running as root). */
  chown?: boolean;
  /** Return one record per path (default true); a caller that needs only the counts and summary saves their memory. */
  records?: boolean;
  signal?: AbortSignal;
}

/** What `verify` needs to know about one path of a composed rootfs. */
export interface RootfsRecord {
  /** Root-relative path; `''` is the root directory. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  /** ms since the epoch */
  mtime: number;
  /** Files: content length and `sha256:<hex>`. */
  size?: number;
  digest?: string;
  /** Symlinks: the target. */
  target?: string;
  /** Files and symlinks that are hardlinks of an earlier record: that record's path. */
  linkOf?: string;
  /** Extended attributes (name → base64 value), when the entry has any. */
  xattrs?: Record<string, string>;
}

export interface ComposeResult {
  /** Paths created (the root included). */
  entries: number;
  dirs: number;
  /** Distinct regular files (inodes) and extra hardlinked paths to them. */
  files: number;
  hardlinks: number;
  symlinks: number;
  /** Content bytes of the distinct files. */
  bytes: number;
  /** Device nodes and FIFOs of the final tree that were not created. */
  skipped: { devices: number; fifos: number };
  /** `sha256:<hex>` Merkle digest of the tree (paths, types, modes, owners, mtimes, contents, targets, links). */
  summary: string;
  /** One record per created path, parents before children, siblings sorted (empty when not asked for). */
  records: RootfsRecord[];
  /** Staged compose only: paths of the bottom layers' tree left as they were made. */
  kept?: number;
}

interface Plan {
  dirs: Array<{ path: string; entry: LayerEntry | undefined; depth: number }>;
  files: Array<{ path: string; layer: number; id: number }>;
  symlinks: Array<{ path: string; entry: LayerEntry; links: string[] }>;
}

const IMPLIED_DIR = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };

/**
 * Builds `dest` (which must not exist) from stored layers, bottom first. The final tree is
 * computed in memory, then made once on a worker thread: directories, hardlinks to the layers'
 * content files (no data is copied), symlinks, then directory metadata deepest first. `dest` is fresh and every
 * path in it comes from the in-memory tree, so no call ever follows a symlink on disk. Files
 * share inodes with the layer store: the rootfs is read-only by contract.
 */
export async function composeRootfs(
  layers: StoredLayer[],
  dest: string,
  opts: ComposeOptions = {},
): Promise<ComposeResult> {
  const plan: Plan = { dirs: [], files: [], symlinks: [] };
  const result = emptyResult();
  const walk = walkTree(buildTree(layers.map((l) => l.index)).root, opts.records !== false, plan, result);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, streamedSteps(walk, plan, layers), opts.signal);
  await applyTreeXattrs(dest, plan.dirs, plan.symlinks);
  return result;
}

/**
 * The records and Merkle summary {@link composeRootfs} makes for these layer indexes (bottom
 * first), computed in memory without touching the disk: what verification checks a rootfs against.
 */
export function describeRootfs(indexes: LayerIndex[]): ComposeResult {
  return describeTree(buildTree(indexes).root, true);
}

/** What a walk of the tree yields, in preorder (a directory before anything in it): what to make. */
type WalkItem = ['dir', PlanDirItem] | ['file', PlanFileItem];
type PlanDirItem = Plan['dirs'][number];
type PlanFileItem = Plan['files'][number];

/**
 * Walks the final tree once: fills `result` (counts, records, the Merkle summary once the walk
 * ends) and `plan.dirs` / `plan.symlinks` (few), and yields every directory and file to make as it
 * goes, so a caller can hand them to the worker thread without holding a list of every path.
 */
function* walkTree(root: DirNode, keepRecords: boolean, plan: Plan, result: ComposeResult): Generator<WalkItem> {
  const firstPath = new Map<Inode, string>();
  const symlinkPlans = new Map<Inode, Plan['symlinks'][number]>();

  function* visitDir(dir: DirNode, path: string, depth: number): Generator<WalkItem, string> {
    const meta = dir.entry ?? IMPLIED_DIR;
    const planned = { path, entry: dir.entry, depth };
    plan.dirs.push(planned);
    yield ['dir', planned];
    if (keepRecords) result.records.push({ path, type: 'dir', ...pickMeta(meta) });
    result.entries++;
    result.dirs++;
    const hash = createHash('sha256');
    let first = true;
    const addLine = (l: string) => {
      hash.update(first ? l : `\n${l}`);
      first = false;
    };
    for (const name of [...dir.children.keys()].sort()) {
      const child = dir.children.get(name)!;
      const childPath = path === '' ? name : `${path}/${name}`;
      if (child.kind === 'dir') {
        const h = yield* visitDir(child, childPath, depth + 1);
        addLine(line(name, 'dir', child.entry ?? IMPLIED_DIR, h));
        continue;
      }
      const { inode } = child;
      if (inode.kind === 'special') {
        if (inode.entry.type === 'fifo') result.skipped.fifos++;
        else result.skipped.devices++;
        continue;
      }
      const e = inode.entry;
      const linkOf = firstPath.get(inode);
      if (linkOf === undefined && (inode.kind === 'symlink' || hardlinked(inode))) firstPath.set(inode, childPath);
      let content: string;
      if (inode.kind === 'file') {
        const size = e.size ?? 0;
        content = e.digest ?? '';
        if (keepRecords) result.records.push(record(childPath, inode.kind, e, linkOf, { size, digest: content }));
        yield ['file', { path: childPath, layer: inode.layer, id: e.id ?? 0 }];
        if (linkOf === undefined) {
          result.files++;
          result.bytes += size;
        } else result.hardlinks++;
      } else {
        content = e.linkname ?? '';
        if (keepRecords) result.records.push(record(childPath, inode.kind, e, linkOf, { target: content }));
        const existing = symlinkPlans.get(inode);
        if (existing) {
          existing.links.push(childPath);
          result.hardlinks++;
        } else {
          const p = { path: childPath, entry: e, links: [] };
          symlinkPlans.set(inode, p);
          plan.symlinks.push(p);
          result.symlinks++;
        }
      }
      result.entries++;
      addLine(line(name, inode.kind, e, `${content}${linkOf === undefined ? '' : `\0${linkOf}`}`));
    }
    return hash.digest('hex');
  }

  const rootHash = yield* visitDir(root, '', 0);
  result.summary = `sha256:${createHash('sha256').update(line('', 'dir', root.entry ?? IMPLIED_DIR, rootHash)).digest('hex')}`;
}

/**
 * Whether a file inode may have a second path: only then is its first path remembered (a map of
 * every file's path would hold the whole tree as strings).
 */
function hardlinked(inode: Inode): boolean {
  return inode.links > 1;
}

function record(path: string, type: 'file' | 'symlink', e: LayerEntry, linkOf: string | undefined, extra: Partial<RootfsRecord>): RootfsRecord {
  const rec: RootfsRecord = { path, type, ...pickMeta(e) };
  if (linkOf !== undefined) rec.linkOf = linkOf;
  return Object.assign(rec, extra);
}

function emptyResult(): ComposeResult {
  return { entries: 0, dirs: 0, files: 0, hardlinks: 0, symlinks: 0, bytes: 0, skipped: { devices: 0, fifos: 0 }, summary: '', records: [] };
}

/** The whole plan and result at once (the plan's file list included). */
function planTree(root: DirNode, keepRecords: boolean): { plan: Plan; result: ComposeResult } {
  const plan: Plan = { dirs: [], files: [], symlinks: [] };
  const result = emptyResult();
  for (const item of walkTree(root, keepRecords, plan, result)) if (item[0] === 'file') plan.files.push(item[1]);
  return { plan, result };
}

/** The result alone: the walk's items are dropped as they come. */
function describeTree(root: DirNode, keepRecords: boolean): ComposeResult {
  const result = emptyResult();
  for (const _ of walkTree(root, keepRecords, { dirs: [], files: [], symlinks: [] }, result));
  return result;
}

type Meta = { mode: number; uid: number; gid: number; mtime: number; xattrs?: Record<string, string> };

function pickMeta(m: Meta) {
  return { mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime, ...(m.xattrs ? { xattrs: m.xattrs } : {}) };
}

function line(name: string, type: string, m: Meta, content: string): string {
  return `${type}\0${m.mode.toString(8)}\0${m.uid}\0${m.gid}\0${m.mtime}\0${content}\0${name}${xattrSummary(m.xattrs)}`;
}

/** Paths per batch handed to the worker thread. */
const STEP_SIZE = 2048;

function* batches<T, K extends PlanStep[0]>(kind: K, items: T[], map: (item: T) => Extract<PlanStep, [K, unknown]>[1][number]): Generator<PlanStep> {
  for (let i = 0; i < items.length; i += STEP_SIZE) yield [kind, items.slice(i, i + STEP_SIZE).map(map)] as PlanStep;
}

function planDir(d: Plan['dirs'][number]): PlanDir {
  const m = d.entry ?? IMPLIED_DIR;
  return [d.path, m.mode, m.uid, m.gid, m.mtime / 1000];
}

/**
 * The plan as worker batches while the tree is walked: directories and links in preorder (a
 * directory's batch is sent before any link into it), then symlinks and directory metadata
 * deepest first, which need the whole walk.
 */
function* streamedSteps(walk: Generator<WalkItem>, plan: Plan, layers: StoredLayer[]): Generator<PlanStep> {
  const dirs: PlanDir[] = [];
  let links: PlanLink[] = [];
  for (const item of walk) {
    if (item[0] === 'dir') {
      if (links.length > 0) yield ['links', links];
      links = [];
      if (item[1].path !== '') dirs.push(planDir(item[1]));
      if (dirs.length >= STEP_SIZE) yield ['dirs', dirs.splice(0)];
      continue;
    }
    if (dirs.length > 0) yield ['dirs', dirs.splice(0)];
    const f = item[1];
    links.push([storeFilePath(layers[f.layer]!.dir, f.id), f.path]);
    if (links.length >= STEP_SIZE) {
      yield ['links', links];
      links = [];
    }
  }
  if (dirs.length > 0) yield ['dirs', dirs];
  if (links.length > 0) yield ['links', links];
  yield* batches('symlinks', plan.symlinks, (s) => [s.path, s.entry.linkname ?? '', s.entry.uid, s.entry.gid, s.entry.mtime / 1000, s.links]);
  yield* batches('meta', [...plan.dirs].sort((a, b) => b.depth - a.depth), planDir);
}

/**
 * The plan as worker batches, each built when it is sent: directories parents first (the root
 * is made with the worker), links, symlinks, then directory metadata deepest first.
 */
function* planSteps(plan: Plan, layers: StoredLayer[], { meta = true } = {}): Generator<PlanStep> {
  const dirs = [...plan.dirs].sort((a, b) => a.depth - b.depth);
  yield* batches('dirs', dirs.filter((d) => d.path !== ''), planDir);
  yield* batches('links', plan.files, (f) => [storeFilePath(layers[f.layer]!.dir, f.id), f.path]);
  yield* batches('symlinks', plan.symlinks, (s) => [s.path, s.entry.linkname ?? '', s.entry.uid, s.entry.gid, s.entry.mtime / 1000, s.links]);
  if (meta) yield* batches('meta', dirs.reverse(), planDir);
}

/**
 * The first half of a staged compose: makes `dest` from the bottom layers of an image whose
 * upper layers are still being fetched, leaving every directory's metadata for the second half
 * (it changes as the upper layers add and remove children). Resolves with the tree made.
 */
export async function composeLowerStage(layers: StoredLayer[], dest: string, opts: ComposeOptions = {}): Promise<StagedTree> {
  const root = buildTree(layers.map((l) => l.index)).root;
  const { plan } = planTree(root, false);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, planSteps(plan, layers, { meta: false }), opts.signal);
  return { root, layers };
}

/** The tree {@link composeLowerStage} made on disk, for {@link finishStagedCompose}. */
export interface StagedTree {
  root: DirNode;
  /**
   * The bottom layers it was made from. The full tree is built from these very index objects:
   * an entry is recognised as unchanged by identity, so indexes read again would match nothing.
   */
  layers: StoredLayer[];
}

/**
 * The second half of a staged compose: turns `dest`, made by {@link composeLowerStage}, into
 * exactly what {@link composeRootfs} makes from the staged layers topped with `upper`. Only
 * what the upper layers change is touched: paths they remove or replace are removed, what they
 * add is made, then every directory gets its metadata. `kept` in the result counts the paths
 * left as the first half made them.
 */
export async function finishStagedCompose(
  staged: StagedTree,
  upper: StoredLayer[],
  dest: string,
  opts: ComposeOptions = {},
): Promise<ComposeResult> {
  const layers = [...staged.layers, ...upper];
  const root = buildTree(layers.map((l) => l.index)).root;
  const { plan, result } = planTree(root, opts.records !== false);
  const update = planTreeUpdate(staged.root, root);
  const steps = updateSteps(update, plan, layers, dest);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, steps, opts.signal, { existing: true });
  await applyTreeXattrs(dest, plan.dirs, plan.symlinks);
  return { ...result, kept: update.kept };
}

function* updateSteps(update: TreeUpdate, plan: Plan, layers: StoredLayer[], dest: string): Generator<PlanStep> {
  yield* batches('remove', update.removals, (p) => p);
  yield* planSteps({ dirs: update.dirs, files: update.files, symlinks: update.symlinks }, layers, { meta: false });
  yield* batches('links', update.links, (l) => [join(dest, l.from), l.path]);
  yield* batches('meta', [...plan.dirs].sort((a, b) => b.depth - a.depth), planDir);
}
