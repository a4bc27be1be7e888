/**
 * The thread of {@link runMaterialisePlan} (plan-runner.ts): makes the planned tree with
 * synchronous calls. link() and mkdir() cost microseconds, so a round trip through the libuv pool
 * per call would dominate. Answers one {@link PlanAnswer} for making `dest`, then one per step.
 */
import { chmodSync, chownSync, lchownSync, linkSync, lutimesSync, mkdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { modeOnDisk } from '../layers/unprivileged-mode.js';
import type { PlanAnswer, PlanDir, PlanLink, PlanStep, PlanSymlink, PlanThreadData } from './plan-runner.js';

const port = parentPort!;
const { dest, chown, existing } = workerData as PlanThreadData;
const at = (p: string): string => (p === '' ? dest : join(dest, p));

const steps = {
  dirs(list: PlanDir[]): void {
    for (const d of list) mkdirSync(at(d[0]), { mode: 0o700 });
  },
  links(list: PlanLink[]): void {
    for (const [src, dst] of list) linkSync(src, at(dst));
  },
  symlinks(list: PlanSymlink[]): void {
    for (const [p, target, uid, gid, mtime, others] of list) {
      const abs = at(p);
      symlinkSync(target, abs);
      if (chown) lchownSync(abs, uid, gid);
      lutimesSync(abs, mtime, mtime);
      for (const o of others) linkSync(abs, at(o));
    }
  },
  // Paths come from the in-memory tree of what this thread's plan made: every parent is a real
  // directory, and a recursive rm never follows symlinks.
  remove(list: string[]): void {
    for (const p of list) rmSync(at(p), { recursive: true, force: true });
  },
  // After every child exists: adding a child changes a directory's mtime, and a read-only
  // mode would stop the children being made.
  meta(list: PlanDir[]): void {
    for (const [p, mode, uid, gid, mtime] of list) {
      const abs = at(p);
      if (chown) chownSync(abs, uid, gid);
      // Without root, the owner (the user pulling) keeps read, write and search.
      chmodSync(abs, modeOnDisk(mode, 'dir', chown));
      utimesSync(abs, mtime, mtime);
    }
  },
};

function runStep(step: PlanStep): void {
  switch (step[0]) {
    case 'dirs':
      return steps.dirs(step[1]);
    case 'links':
      return steps.links(step[1]);
    case 'symlinks':
      return steps.symlinks(step[1]);
    case 'remove':
      return steps.remove(step[1]);
    case 'meta':
      return steps.meta(step[1]);
  }
}

let failed = false;
function run(fn: () => void): void {
  if (failed) return;
  try {
    fn();
    port.postMessage({ ok: true } satisfies PlanAnswer);
  } catch (err) {
    failed = true;
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ ok: false, message: e.message, ...(e.code === undefined ? {} : { code: e.code }) } satisfies PlanAnswer);
  }
}

run(() => {
  if (!existing) mkdirSync(dest, { mode: 0o700 });
});
port.on('message', (step: PlanStep) => run(() => runStep(step)));
