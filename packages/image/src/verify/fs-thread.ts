/**
 * The thread of {@link FsWorkerPool} (fs-worker-pool.ts): answers batches of {@link BatchOp}s
 * with synchronous lstat, open(O_NOFOLLOW)+read+sha256, readlink and readdir.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { BatchOp, BatchResult, PathInfo } from './fs-worker-pool.js';

const buf = Buffer.allocUnsafe(1 << 20);
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function typeOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return st.isSocket() ? 'socket' : 'device';
}

/** sha256 of the file at `path`, unless it is no longer the regular file `inode` that lstat saw. */
function hash(path: string, inode: string): string | undefined {
  const fd = openSync(path, FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || `${st.dev}:${st.ino}` !== inode) return undefined;
    const h = createHash('sha256');
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
    return `sha256:${h.digest('hex')}`;
  } finally {
    closeSync(fd);
  }
}

function run(o: BatchOp): BatchResult {
  try {
    if (o.op === 'list') return { names: readdirSync(o.path) };
    const st = lstatSync(o.path);
    const r: PathInfo = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, size: st.size, inode: `${st.dev}:${st.ino}` };
    if (o.readlink && r.type === 'symlink') r.target = readlinkSync(o.path);
    if (o.hash && r.type === 'file') {
      const digest = hash(o.path, r.inode);
      if (digest !== undefined) r.digest = digest;
    }
    return r;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: e.code ?? e.message };
  }
}

parentPort!.on('message', (ops: BatchOp[]) => parentPort!.postMessage(ops.map(run)));
