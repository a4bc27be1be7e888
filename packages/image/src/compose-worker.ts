import { Worker } from 'node:worker_threads';

/** Directory to make: path, mode, uid, gid, mtime (s). Listed parents first. */
export type PlanDir = [string, number, number, number, number];
/** Hardlink of a store file: source, destination. */
export type PlanLink = [string, string];
/** Symlink: path, target, uid, gid, mtime (s), extra paths hardlinked to it. */
export type PlanSymlink = [string, string, number, number, number, string[]];

export interface MaterialisePlan {
  dest: string;
  chown: boolean;
  dirs: PlanDir[];
  links: PlanLink[];
  symlinks: PlanSymlink[];
}

/**
 * Makes the planned tree with synchronous calls on a worker thread: link() and mkdir() cost
 * microseconds, so a round trip through the libuv pool per call would dominate, and the main
 * thread stays free (lock heartbeats, progress, other pulls) meanwhile. Plain JavaScript
 * source so it loads the same way from the compiled package and from TypeScript sources.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData: plan } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
try {
  const at = (p) => (p === '' ? plan.dest : path.join(plan.dest, p));
  fs.mkdirSync(plan.dest, { mode: 0o700 });
  for (const d of plan.dirs) if (d[0] !== '') fs.mkdirSync(at(d[0]), { mode: 0o700 });
  for (const [src, dst] of plan.links) fs.linkSync(src, at(dst));
  for (const [p, target, uid, gid, mtime, others] of plan.symlinks) {
    const abs = at(p);
    fs.symlinkSync(target, abs);
    if (plan.chown) fs.lchownSync(abs, uid, gid);
    fs.lutimesSync(abs, mtime, mtime);
    for (const o of others) fs.linkSync(abs, at(o));
  }
  // Deepest first, after every child exists: adding a child changes a directory's mtime,
  // and a read-only mode would stop the children being made.
  for (let i = plan.dirs.length - 1; i >= 0; i--) {
    const [p, mode, uid, gid, mtime] = plan.dirs[i];
    const abs = at(p);
    if (plan.chown) fs.chownSync(abs, uid, gid);
    fs.chmodSync(abs, mode);
    fs.utimesSync(abs, mtime, mtime);
  }
  parentPort.postMessage({ ok: true });
} catch (err) {
  parentPort.postMessage({ ok: false, message: err.message, code: err.code });
}
`;

/** Error met while making the tree on disk, with its errno code. */
export class MaterialiseError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(`making the rootfs failed: ${message}`);
    this.name = 'MaterialiseError';
  }
}

/** Runs `plan` on a worker thread; resolves when the tree is complete. */
export async function runMaterialisePlan(plan: MaterialisePlan, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: plan });
  try {
    const answer = await new Promise<{ ok: boolean; message?: string; code?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (!answer.ok) throw new MaterialiseError(answer.message ?? 'unknown error', answer.code);
  } finally {
    await worker.terminate();
  }
}
