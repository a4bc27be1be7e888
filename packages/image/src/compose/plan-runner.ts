import type { Worker } from 'node:worker_threads';
import { FS_THREAD_LIMITS, startWorker } from '../start-worker.js';
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

/** Batches handed to the worker before waiting for its answers: keeps it busy, and memory bounded. */
const STEPS_AHEAD = 2;

/** What the plan thread (plan-thread.ts) answers for making `dest` and for each step. */
export interface PlanAnswer {
  ok: boolean;
  message?: string;
  code?: string;
}

type Answer = PlanAnswer;

/** What the plan thread is started with. */
export interface PlanThreadData {
  dest: string;
  chown: boolean;
  /** `dest` exists already: a tree this module made earlier (a staged compose). */
  existing: boolean;
}

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
  // Synchronous calls on a thread of their own: the main thread stays free (lock heartbeats,
  // progress, other pulls) meanwhile. The plan arrives in batches, so neither thread ever holds a
  // copy of all of it.
  const workerData: PlanThreadData = { dest, chown, existing };
  const worker = startWorker(import.meta.url, 'plan-thread', { workerData, resourceLimits: FS_THREAD_LIMITS });
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
