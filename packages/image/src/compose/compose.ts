import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runMaterialisePlan, type PlanDir, type PlanLink, type PlanStep } from './plan-runner.js';
import { storeFilePath, type LayerIndex } from '../layers/layer-index.js';
import { readLayerEntries } from '../layers/index-reader.js';
import { applyTreeXattrs, xattrSummary } from '../layers/xattrs.js';
import type { EntryMeta } from './entry-records.js';
import { buildTree, RootfsTree } from './tree-model.js';
import { planTreeUpdate, type TreeUpdate } from './tree-update.js';

/**
 * A stored layer: its directory in the layer store, and its index when the caller holds it
 * already. Without one, the index file in `dir` is streamed into the tree entry by entry.
 */
export interface StoredLayer {
  dir: string;
  index?: LayerIndex;
  /** Entries in its index, when known: the tree then takes its room at once instead of growing. */
  entries?: number;
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

/**
 * What to make. Directories keep their record (-1 for an implied parent), not their entry: the
 * list holds every directory until the walk ends, and its metadata is read when it is sent.
 */
interface Plan {
  dirs: Array<{ path: string; record: number; depth: number }>;
  files: Array<{ path: string; layer: number; id: number }>;
  symlinks: Array<{ path: string; entry: EntryMeta; links: string[] }>;
}

const IMPLIED_DIR = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };

/**
 * Builds `dest` (which must not exist) from stored layers, bottom first. The final tree is
 * computed in memory (a compact tree the layers' index files are streamed into, see
 * {@link readTree}), then made once on a worker thread: directories, hardlinks to the layers'
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
  const tree = await readTree(layers);
  const walk = walkTree(tree, opts.records !== false, plan, result);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, streamedSteps(tree, walk, plan, layers), opts.signal);
  await applyTreeXattrs(dest, xattrDirs(tree, plan.dirs), plan.symlinks);
  return result;
}

/**
 * The tree of stored layers, bottom first: each index the caller did not pass is streamed from
 * its file, one entry at a time, so no layer's entries are ever held as a list.
 */
export async function readTree(layers: StoredLayer[]): Promise<RootfsTree> {
  const tree = new RootfsTree();
  tree.reserve(layers.reduce((n, l) => n + (l.index?.entries.length ?? l.entries ?? 0), 0));
  for (const [i, layer] of layers.entries()) {
    if (layer.index) tree.applyLayer(layer.index, i);
    else {
      tree.beginLayer(i);
      await readLayerEntries(layer.dir, (e) => tree.apply(e));
    }
  }
  return tree;
}

/** The directories of the plan with extended attributes (few), with their entries, for applyTreeXattrs. */
function xattrDirs(tree: RootfsTree, dirs: Plan['dirs']): Array<{ path: string; entry: EntryMeta }> {
  return dirs.filter((d) => tree.hasXattrs(d.record)).map((d) => ({ path: d.path, entry: tree.entry(d.record) }));
}

/**
 * The records and Merkle summary {@link composeRootfs} makes for these layer indexes (bottom
 * first), computed in memory without touching the disk: what verification checks a rootfs against.
 */
export function describeRootfs(indexes: LayerIndex[]): ComposeResult {
  return describeTree(buildTree(indexes), true);
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
function* walkTree(tree: RootfsTree, keepRecords: boolean, plan: Plan, result: ComposeResult): Generator<WalkItem> {
  const firstPath = new Map<number, string>();
  const symlinkPlans = new Map<number, Plan['symlinks'][number]>();

  function* visitDir(dir: number, path: string, depth: number): Generator<WalkItem, string> {
    const dirRecord = tree.dirRecord(dir);
    const meta = dirRecord < 0 ? IMPLIED_DIR : tree.entry(dirRecord);
    const planned = { path, record: dirRecord, depth };
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
    for (const [name, child] of tree.sortedChildren(dir)) {
      const childPath = path === '' ? name : `${path}/${name}`;
      if (tree.isDir(child)) {
        const h = yield* visitDir(child, childPath, depth + 1);
        const r = tree.dirRecord(child);
        addLine(line(name, 'dir', r < 0 ? IMPLIED_DIR : tree.entry(r), h));
        continue;
      }
      const inode = tree.inode(child);
      const kind = tree.inodeKind(inode);
      const e = tree.entry(inode);
      if (kind === 'special') {
        if (e.type === 'fifo') result.skipped.fifos++;
        else result.skipped.devices++;
        continue;
      }
      const linkOf = firstPath.get(inode);
      if (linkOf === undefined && (kind === 'symlink' || tree.links(inode) > 1)) firstPath.set(inode, childPath);
      let content: string;
      if (kind === 'file') {
        const size = e.size ?? 0;
        content = e.digest ?? '';
        if (keepRecords) result.records.push(record(childPath, kind, e, linkOf, { size, digest: content }));
        yield ['file', { path: childPath, layer: tree.layerOf(inode), id: e.id ?? 0 }];
        if (linkOf === undefined) {
          result.files++;
          result.bytes += size;
        } else result.hardlinks++;
      } else {
        content = e.linkname ?? '';
        if (keepRecords) result.records.push(record(childPath, kind, e, linkOf, { target: content }));
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
      addLine(line(name, kind, e, `${content}${linkOf === undefined ? '' : `\0${linkOf}`}`));
    }
    return hash.digest('hex');
  }

  const rootHash = yield* visitDir(tree.root, '', 0);
  const rootRecord = tree.dirRecord(tree.root);
  result.summary = `sha256:${createHash('sha256').update(line('', 'dir', rootRecord < 0 ? IMPLIED_DIR : tree.entry(rootRecord), rootHash)).digest('hex')}`;
}

function record(path: string, type: 'file' | 'symlink', e: EntryMeta, linkOf: string | undefined, extra: Partial<RootfsRecord>): RootfsRecord {
  const rec: RootfsRecord = { path, type, ...pickMeta(e) };
  if (linkOf !== undefined) rec.linkOf = linkOf;
  return Object.assign(rec, extra);
}

function emptyResult(): ComposeResult {
  return { entries: 0, dirs: 0, files: 0, hardlinks: 0, symlinks: 0, bytes: 0, skipped: { devices: 0, fifos: 0 }, summary: '', records: [] };
}

/** The plan's directories and symlinks and the result at once; files are not listed (there may be millions). */
function planTree(tree: RootfsTree, keepRecords: boolean): { plan: Plan; result: ComposeResult } {
  const plan: Plan = { dirs: [], files: [], symlinks: [] };
  const result = emptyResult();
  for (const _ of walkTree(tree, keepRecords, plan, result));
  return { plan, result };
}

/** The result alone: the walk's items are dropped as they come. */
function describeTree(tree: RootfsTree, keepRecords: boolean): ComposeResult {
  const result = emptyResult();
  for (const _ of walkTree(tree, keepRecords, { dirs: [], files: [], symlinks: [] }, result));
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

function planDir(tree: RootfsTree, d: Plan['dirs'][number]): PlanDir {
  const m = d.record < 0 ? IMPLIED_DIR : tree.entry(d.record);
  return [d.path, m.mode, m.uid, m.gid, m.mtime / 1000];
}

/**
 * The plan as worker batches while the tree is walked: directories and links in preorder (a
 * directory's batch is sent before any link into it), then symlinks and directory metadata
 * deepest first, which need the whole walk.
 */
function* streamedSteps(tree: RootfsTree, walk: Generator<WalkItem>, plan: Plan, layers: StoredLayer[], { meta = true } = {}): Generator<PlanStep> {
  const dirs: PlanDir[] = [];
  let links: PlanLink[] = [];
  for (const item of walk) {
    if (item[0] === 'dir') {
      if (links.length > 0) yield ['links', links];
      links = [];
      if (item[1].path !== '') dirs.push(planDir(tree, item[1]));
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
  if (meta) yield* batches('meta', [...plan.dirs].sort((a, b) => b.depth - a.depth), (d) => planDir(tree, d));
}

/**
 * A plan as worker batches, each built when it is sent: directories parents first (the root
 * exists already), links, then symlinks; no directory metadata.
 */
function* planSteps(tree: RootfsTree, plan: Plan, layers: StoredLayer[]): Generator<PlanStep> {
  const dirs = [...plan.dirs].sort((a, b) => a.depth - b.depth);
  yield* batches('dirs', dirs.filter((d) => d.path !== ''), (d) => planDir(tree, d));
  yield* batches('links', plan.files, (f) => [storeFilePath(layers[f.layer]!.dir, f.id), f.path]);
  yield* batches('symlinks', plan.symlinks, (s) => [s.path, s.entry.linkname ?? '', s.entry.uid, s.entry.gid, s.entry.mtime / 1000, s.links]);
}

/**
 * The first half of a staged compose: makes `dest` from the bottom layers of an image whose
 * upper layers are still being fetched, leaving every directory's metadata for the second half
 * (it changes as the upper layers add and remove children). Resolves with the tree made.
 */
export async function composeLowerStage(layers: StoredLayer[], dest: string, opts: ComposeOptions = {}): Promise<StagedTree> {
  const tree = await readTree(layers);
  const plan: Plan = { dirs: [], files: [], symlinks: [] };
  const steps = streamedSteps(tree, walkTree(tree, false, plan, emptyResult()), plan, layers, { meta: false });
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, steps, opts.signal);
  return { tree, layers };
}

/** The tree {@link composeLowerStage} made on disk, for {@link finishStagedCompose}. */
export interface StagedTree {
  tree: RootfsTree;
  /**
   * The bottom layers it was made from. The full tree is built from the same layers in the same
   * order: an inode is recognised as unchanged by its record number, which both trees give alike.
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
  const tree = await readTree(layers);
  const { plan, result } = planTree(tree, opts.records !== false);
  const update = planTreeUpdate(staged.tree, tree);
  const steps = updateSteps(tree, update, plan, layers, dest);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, steps, opts.signal, { existing: true });
  await applyTreeXattrs(dest, xattrDirs(tree, plan.dirs), plan.symlinks);
  return { ...result, kept: update.kept };
}

function* updateSteps(tree: RootfsTree, update: TreeUpdate, plan: Plan, layers: StoredLayer[], dest: string): Generator<PlanStep> {
  yield* batches('remove', update.removals, (p) => p);
  yield* planSteps(tree, { dirs: update.dirs, files: update.files, symlinks: update.symlinks }, layers);
  yield* batches('links', update.links, (l) => [join(dest, l.from), l.path]);
  yield* batches('meta', [...plan.dirs].sort((a, b) => b.depth - a.depth), (d) => planDir(tree, d));
}
