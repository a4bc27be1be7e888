import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

/** Kind of a file system object. */
export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/** One object of a snapshotted tree. */
export interface TreeEntry {
  /** Relative path with `/` separators; `.` is the root itself. */
  path: string;
  type: TreeEntryType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  /** Byte size for files, 0 otherwise. */
  size: number;
  /** Modification time, whole seconds. */
  mtime: number;
  uid: number;
  gid: number;
  linkTarget?: string;
  sha256?: string;
  /** `major:minor` for device nodes. */
  rdev?: string;
  /**
   * For files hardlinked to other files of the same tree: the first path (in sorted order) of
   * the group, so groups compare across trees. Links to files outside the tree do not count.
   */
  hardlinkGroup?: string;
}

function typeOf(st: Stats): TreeEntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function describe(root: string, rel: string, st: Stats): Promise<TreeEntry> {
  const abs = rel === '.' ? root : join(root, rel);
  const type = typeOf(st);
  const e: TreeEntry = { path: rel, type, mode: st.mode & 0o7777, size: type === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid };
  if (type === 'symlink') e.linkTarget = await readlink(abs);
  if (type === 'file') e.sha256 = await hashFile(abs);
  if (type === 'char' || type === 'block') e.rdev = `${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`;
  return e;
}

/**
 * Records every object under `dir` (symlinks are not followed), sorted by path, with content
 * hashes for files and hardlink groups, for comparing two unpacked root filesystems.
 */
export async function snapshotTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const inodes = new Map<string, TreeEntry[]>();
  const visit = async (rel: string) => {
    const st = await lstat(rel === '.' ? dir : join(dir, rel));
    const e = await describe(dir, rel, st);
    out.push(e);
    if (e.type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      inodes.set(key, [...(inodes.get(key) ?? []), e]);
    }
    if (e.type !== 'dir') return;
    for (const name of await readdir(rel === '.' ? dir : join(dir, rel))) await visit(rel === '.' ? name : `${rel}/${name}`);
  };
  await visit('.');
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    const first = group.map((g) => g.path).sort()[0];
    for (const g of group) g.hardlinkGroup = first;
  }
  return out;
}

/** Fields {@link diffTrees} can be told to ignore; `dirMtime` ignores mtimes of directories only. */
export type TreeIgnore = 'mtime' | 'uid' | 'gid' | 'dirMtime' | 'hardlink';

/** One difference between two trees. */
export interface TreeDifference {
  path: string;
  /** `missing`: only in a; `extra`: only in b; `changed`: in both, `field` differs. */
  kind: 'missing' | 'extra' | 'changed';
  field?: keyof TreeEntry;
  a?: unknown;
  b?: unknown;
}

const FIELDS: Array<keyof TreeEntry> = ['type', 'mode', 'size', 'mtime', 'uid', 'gid', 'linkTarget', 'sha256', 'rdev', 'hardlinkGroup'];

function ignored(field: keyof TreeEntry, e: TreeEntry, ignore: Set<TreeIgnore>): boolean {
  if (field === 'mtime') return ignore.has('mtime') || (ignore.has('dirMtime') && e.type === 'dir');
  if (field === 'hardlinkGroup') return ignore.has('hardlink');
  return (field === 'uid' || field === 'gid') && ignore.has(field);
}

/** Lists how tree `b` differs from tree `a` (both from {@link snapshotTree}), sorted by path. */
export function diffTrees(a: TreeEntry[], b: TreeEntry[], opts: { ignore?: TreeIgnore[] } = {}): TreeDifference[] {
  const ignore = new Set(opts.ignore ?? []);
  const bMap = new Map(b.map((e) => [e.path, e]));
  const diffs: TreeDifference[] = [];
  for (const ea of a) {
    const eb = bMap.get(ea.path);
    bMap.delete(ea.path);
    if (!eb) {
      diffs.push({ path: ea.path, kind: 'missing' });
      continue;
    }
    for (const f of FIELDS) {
      if (ea[f] !== eb[f] && !ignored(f, ea, ignore)) diffs.push({ path: ea.path, kind: 'changed', field: f, a: ea[f], b: eb[f] });
    }
  }
  for (const path of bMap.keys()) diffs.push({ path, kind: 'extra' });
  return diffs.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}
