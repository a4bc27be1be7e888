import { Worker } from 'node:worker_threads';
import { MaterialiseError } from '../errors/layer-errors.js';

/** Directory to make: path, mode, uid, gid, mtime (s). Listed parents first. */
export type PlanDir = [string, number, number, number, number];
/** Hardlink of a store file: source, destination. */
export type PlanLink = [string, string];
/** Symlink: path, target, uid, gid, mtime (s), extra paths hardlinked to it. */
export type PlanSymlink = [string, string, number, number, number, string[]];

/**
 * One batch of the plan, run in the order given:
 * - `dirs`: make these directories (parents first);
 * - `links` / `symlinks`: make these hardlinks and symlinks;
 * - `meta`: give these directories their owner, mode and mtime (children before parents);
 * - `remove`: remove these paths, a directory with everything under it (a staged compose
 *   replacing what the upper layers change).
 */
export type PlanStep = ['dirs', PlanDir[]] | ['links', PlanLink[]] | ['symlinks', PlanSymlink[]] | ['meta', PlanDir[]] | ['remove', string[]];

/**
 * Makes the planned tree with synchronous calls on a worker thread: link() and mkdir() cost
 * microseconds, so a round trip through the libuv pool per call would dominate, and the main
 * thread stays free (lock heartbeats, progress, other pulls) meanwhile. The plan arrives in
 * batches, so neither thread ever holds a copy of all of it. Plain JavaScript source so it
 * loads the same way from the compiled package and from TypeScript sources.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { dest, chown, existing } = workerData;
const at = (p) => (p === '' ? dest : path.join(dest, p));
const steps = {
  dirs(list) {
    for (const d of list) fs.mkdirSync(at(d[0]), { mode: 0o700 });
  },
  links(list) {
    for (const [src, dst] of list) fs.linkSync(src, at(dst));
  },
  symlinks(list) {
    for (const [p, target, uid, gid, mtime, others] of list) {
      const abs = at(p);
      fs.symlinkSync(target, abs);
      if (chown) fs.lchownSync(abs, uid, gid);
      fs.lutimesSync(abs, mtime, mtime);
      for (const o of others) fs.linkSync(abs, at(o));
    }
  },
  // Paths come from the in-memory tree of what this worker's plan made: every parent is a real
  // directory, and a recursive rm never follows symlinks.
  remove(list) {
    for (const p of list) fs.rmSync(at(p), { recursive: true, force: true });
  },
  // After every child exists: adding a child changes a directory's mtime, and a read-only
  // mode would stop the children being made.
  meta(list) {
    for (const [p, mode, uid, gid, mtime] of list) {
      const abs = at(p);
      if (chown) fs.chownSync(abs, uid, gid);
      fs.chmodSync(abs, mode);
      fs.utimesSync(abs, mtime, mtime);
    }
  },
};
let failed = false;
function run(fn) {
  if (failed) return;
  try {
    fn();
    parentPort.postMessage({ ok: true });
  } catch (err) {
    failed = true;
    parentPort.postMessage({ ok: false, message: err.message, code: err.code });
  }
}
run(() => existing || fs.mkdirSync(dest, { mode: 0o700 }));
parentPort.on('message', ([kind, list]) => run(() => steps[kind](list)));
`;

/** Batches handed to the worker before waiting for its answers: keeps it busy, and memory bounded. */
const STEPS_AHEAD = 2;

type Answer = { ok: boolean; message?: string; code?: string };

/**
 * Makes `dest` (which must not exist, unless `existing`: a tree this module made earlier) and
 * runs the plan's steps in order on a worker thread; resolves when the tree is complete.
 */
export async function runMaterialisePlan(
  dest: string,
  chown: boolean,
  steps: Iterable<PlanStep>,
  signal?: AbortSignal,
  { existing = false } = {},
): Promise<void> {
  signal?.throwIfAborted();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { dest, chown, existing },
  });
  const answers = answerQueue(worker);
  try {
    // The first answer is for making `dest`.
    let pending = 1;
    for (const step of steps) {
      while (pending >= STEPS_AHEAD) {
        await answers.next();
        pending--;
      }
      signal?.throwIfAborted();
      worker.postMessage(step);
      pending++;
    }
    for (; pending > 0; pending--) await answers.next();
  } finally {
    await worker.terminate();
  }
}

/** The worker's answers in order; a failed step or a crashed thread rejects. */
function answerQueue(worker: Worker): { next(): Promise<void> } {
  const queued: Answer[] = [];
  let waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  let crash: Error | undefined;
  worker.on('message', (a: Answer) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w.resolve(a);
    } else queued.push(a);
  });
  const fail = (err: Error) => {
    crash ??= err;
    waiting?.reject(err);
    waiting = undefined;
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new MaterialiseError(`the worker thread stopped (exit code ${code})`, undefined)));
  return {
    async next() {
      const answer =
        queued.shift() ??
        (crash
          ? Promise.reject(crash)
          : new Promise<Answer>((resolve, reject) => {
              waiting = { resolve, reject };
            }));
      const a = await answer;
      if (!a.ok) throw new MaterialiseError(a.message ?? 'unknown error', a.code);
    },
  };
}
