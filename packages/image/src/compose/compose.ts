import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { runMaterialisePlan, type PlanDir, type PlanStep } from './plan-runner.js';
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
  const { plan, result } = planTree(buildTree(layers.map((l) => l.index)).root, opts.records !== false);
  await runMaterialisePlan(dest, opts.chown ?? process.getuid?.() === 0, planSteps(plan, layers), opts.signal);
  await applyTreeXattrs(dest, plan.dirs, plan.symlinks);
  return result;
}

/**
 * The records and Merkle summary {@link composeRootfs} makes for these layer indexes (bottom
 * first), computed in memory without touching the disk: what verification checks a rootfs against.
 */
export function describeRootfs(indexes: LayerIndex[]): ComposeResult {
  return planTree(buildTree(indexes).root, true).result;
}

function planTree(root: DirNode, keepRecords: boolean): { plan: Plan; result: ComposeResult } {
  const plan: Plan = { dirs: [], files: [], symlinks: [] };
  const result: ComposeResult = {
    entries: 0, dirs: 0, files: 0, hardlinks: 0, symlinks: 0, bytes: 0,
    skipped: { devices: 0, fifos: 0 }, summary: '', records: [],
  };
  const firstPath = new Map<Inode, string>();
  const symlinkPlans = new Map<Inode, Plan['symlinks'][number]>();

  const visitDir = (dir: DirNode, path: string, depth: number): string => {
    const meta = dir.entry ?? IMPLIED_DIR;
    plan.dirs.push({ path, entry: dir.entry, depth });
    if (keepRecords) result.records.push({ path, type: 'dir', ...pickMeta(meta) });
    result.entries++;
    result.dirs++;
    const lines: string[] = [];
    for (const name of [...dir.children.keys()].sort()) {
      const child = dir.children.get(name)!;
      const childPath = path === '' ? name : `${path}/${name}`;
      if (child.kind === 'dir') {
        const h = visitDir(child, childPath, depth + 1);
        lines.push(line(name, 'dir', child.entry ?? IMPLIED_DIR, h));
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
      const rec: RootfsRecord = { path: childPath, type: inode.kind, ...pickMeta(e) };
      if (linkOf !== undefined) rec.linkOf = linkOf;
      else firstPath.set(inode, childPath);
      if (inode.kind === 'file') {
        rec.size = e.size ?? 0;
        rec.digest = e.digest ?? '';
        plan.files.push({ path: childPath, layer: inode.layer, id: e.id ?? 0 });
        if (linkOf === undefined) {
          result.files++;
          result.bytes += rec.size;
        } else result.hardlinks++;
      } else {
        rec.target = e.linkname ?? '';
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
      if (keepRecords) result.records.push(rec);
      result.entries++;
      lines.push(line(name, inode.kind, e, `${rec.digest ?? rec.target}${linkOf === undefined ? '' : `\0${linkOf}`}`));
    }
    return createHash('sha256').update(lines.join('\n')).digest('hex');
  };

  const rootHash = visitDir(root, '', 0);
  result.summary = `sha256:${createHash('sha256').update(line('', 'dir', root.entry ?? IMPLIED_DIR, rootHash)).digest('hex')}`;
  return { plan, result };
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
