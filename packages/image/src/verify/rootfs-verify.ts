import { join } from 'node:path';
import type { RootfsRecord } from '../compose/compose.js';
import type { FsWorkerPool, PathInfo } from './fs-worker-pool.js';
import { compareStat, type VerifyProblem } from './problems.js';
import { compareXattrs, readTreeXattrs } from './xattr-verify.js';

export interface RootfsCheckOptions {
  fs: FsWorkerPool;
  owners: boolean;
  /** `dev:ino` → digest of layer store files already found intact (not hashed again). */
  intact: Map<string, string>;
}

interface Walk {
  root: string;
  opts: RootfsCheckOptions;
  problems: VerifyProblem[];
  /** Directories found to be real directories: only their children are looked at. */
  dirs: Set<string>;
  /** `dev:ino` of each file and symlink found, for hardlink groups. */
  inodes: Map<string, string>;
  /** Directories on disk where the record has something else: their whole content is extra. */
  strayDirs: string[];
}

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

const abs = (root: string, path: string) => (path === '' ? root : join(root, path));
const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const depthOf = (path: string) => (path === '' ? 0 : path.split('/').length);
const childPath = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

/**
 * Compares the tree under `root` with the records it was made from: every recorded path is
 * looked at with lstat, one depth at a time and only below what really is a directory, so no
 * symlink is ever followed; file contents are hashed (opened with O_NOFOLLOW) unless the file is
 * a layer store file already found intact; links of a hardlink group must share one inode; every
 * unrecorded path is reported as extra.
 */
export async function checkRootfs(root: string, records: RootfsRecord[], opts: RootfsCheckOptions): Promise<VerifyProblem[]> {
  const w: Walk = { root, opts, problems: [], dirs: new Set(), inodes: new Map(), strayDirs: [] };
  for (const level of byDepth(records)) await checkLevel(w, level);
  checkLinks(w, records);
  await checkXattrs(w, records);
  await findExtras(w, records);
  return w.problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

function byDepth(records: RootfsRecord[]): RootfsRecord[][] {
  const levels: RootfsRecord[][] = [];
  for (const r of records) (levels[depthOf(r.path)] ??= []).push(r);
  return levels.filter((l) => l !== undefined);
}

async function checkLevel(w: Walk, level: RootfsRecord[]): Promise<void> {
  const reachable: RootfsRecord[] = [];
  for (const rec of level) {
    if (rec.path === '' || w.dirs.has(parentOf(rec.path))) reachable.push(rec);
    else w.problems.push({ path: rec.path, kind: 'missing' });
  }
  const found = (await w.opts.fs.run(reachable.map((rec) => ({ op: 'stat', path: abs(w.root, rec.path), readlink: rec.type === 'symlink' })))) as PathInfo[];
  const toHash: RootfsRecord[] = [];
  reachable.forEach((rec, i) => {
    if (compareRecord(w, rec, found[i]!)) toHash.push(rec);
  });
  const hashed = (await w.opts.fs.run(toHash.map((rec) => ({ op: 'stat', path: abs(w.root, rec.path), hash: true })))) as PathInfo[];
  toHash.forEach((rec, i) => {
    const actual = hashed[i]!.digest ?? 'not a regular file';
    if (actual !== rec.digest) w.problems.push({ path: rec.path, kind: 'changed', field: 'digest', expected: rec.digest ?? '', actual });
  });
}

/** Compares what lstat found; @returns true when the file's content still has to be hashed. */
function compareRecord(w: Walk, rec: RootfsRecord, st: PathInfo): boolean {
  if (st.error !== undefined) {
    if (!MISSING.has(st.error)) throw new Error(`cannot look at ${abs(w.root, rec.path)}: ${st.error}`);
    w.problems.push({ path: rec.path, kind: 'missing' });
    return false;
  }
  const found = compareStat(rec.path, rec, st, w.opts.owners);
  w.problems.push(...found);
  if (found[0]?.field === 'type') {
    if (st.type === 'dir') w.strayDirs.push(rec.path);
    return false;
  }
  if (rec.type === 'dir') {
    w.dirs.add(rec.path);
    return false;
  }
  w.inodes.set(rec.path, st.inode);
  if (rec.type === 'symlink') {
    if (st.target !== rec.target) w.problems.push({ path: rec.path, kind: 'changed', field: 'target', expected: rec.target ?? '', actual: st.target ?? '' });
    return false;
  }
  return w.opts.intact.get(st.inode) !== rec.digest;
}

/** Extended attributes of every path that is there with its recorded type (skipped without getfattr). */
async function checkXattrs(w: Walk, records: RootfsRecord[]): Promise<void> {
  const found = await readTreeXattrs(w.root);
  if (!found) return;
  const skip = new Set(w.problems.filter((p) => p.kind === 'missing' || p.field === 'type').map((p) => p.path));
  w.problems.push(...compareXattrs(records, found, skip));
}

/** Paths recorded as hardlinks of another must share its inode. */
function checkLinks(w: Walk, records: RootfsRecord[]): void {
  for (const rec of records) {
    if (rec.linkOf === undefined) continue;
    const mine = w.inodes.get(rec.path);
    const theirs = w.inodes.get(rec.linkOf);
    if (mine !== undefined && theirs !== undefined && mine !== theirs) {
      w.problems.push({ path: rec.path, kind: 'changed', field: 'link', expected: rec.linkOf, actual: 'not linked' });
    }
  }
}

async function findExtras(w: Walk, records: RootfsRecord[]): Promise<void> {
  const expected = new Map<string, Set<string>>();
  for (const r of records) {
    if (r.path === '') continue;
    const parent = parentOf(r.path);
    let names = expected.get(parent);
    if (!names) expected.set(parent, (names = new Set()));
    names.add(r.path.slice(parent === '' ? 0 : parent.length + 1));
  }
  const dirs = [...w.dirs];
  const listed = await w.opts.fs.run(dirs.map((dir) => ({ op: 'list', path: abs(w.root, dir) })));
  const extras: string[] = [];
  dirs.forEach((dir, i) => {
    const names = expected.get(dir) ?? new Set<string>();
    for (const name of (listed[i] as { names?: string[] }).names ?? []) if (!names.has(name)) extras.push(childPath(dir, name));
  });
  await reportExtras(w, extras);
  for (const dir of w.strayDirs) await reportExtras(w, await listNames(w, dir));
}

async function listNames(w: Walk, dir: string): Promise<string[]> {
  const [listed] = await w.opts.fs.run([{ op: 'list', path: abs(w.root, dir) }]);
  return ((listed as { names?: string[] }).names ?? []).map((name) => childPath(dir, name));
}

/** Reports each path and, for a directory, everything under it; symlinks are not followed. */
async function reportExtras(w: Walk, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const found = (await w.opts.fs.run(paths.map((path) => ({ op: 'stat', path: abs(w.root, path) })))) as PathInfo[];
  const below: string[] = [];
  for (const [i, path] of paths.entries()) {
    w.problems.push({ path, kind: 'extra' });
    if (found[i]!.type === 'dir') below.push(...(await listNames(w, path)));
  }
  await reportExtras(w, below);
}
