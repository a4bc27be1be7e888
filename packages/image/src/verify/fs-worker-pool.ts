import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../start-worker.js';

/** What a batch op found at a path (never following a symlink). */
export interface PathInfo {
  /** errno code when the path could not be looked at (ENOENT, ENOTDIR, …). */
  error?: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  /** `dev:ino` */
  inode: string;
  /** Symlinks, when asked: the target. */
  target?: string;
  /** Regular files, when asked: `sha256:<hex>` of the content; absent when the path was no regular file when opened. */
  digest?: string;
}

/** One request: look at a path (optionally hash a file or read a symlink), or list a directory. */
export type BatchOp = { op: 'stat'; path: string; hash?: boolean; readlink?: boolean } | { op: 'list'; path: string };
export type BatchResult = PathInfo | { error?: string; names?: string[] };

/**
 * Synchronous lstat, open(O_NOFOLLOW)+read+sha256, readlink and readdir on worker threads
 * (fs-thread.ts): a tree of tens of thousands of small files costs mostly per-call overhead,
 * which a round trip through the libuv pool per call would multiply, and hashing stays off the
 * main thread. A few threads; {@link close} when done.
 */
export class FsWorkerPool {
  private readonly workers: Worker[];
  /** Batches run one after another: each thread answers its messages in order, one listener at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(threads = Math.max(1, Math.min(4, availableParallelism()))) {
    this.workers = Array.from({ length: threads }, () => startWorker(import.meta.url, 'fs-thread'));
  }

  /** Runs `ops` split across the threads; results in the order of `ops`. */
  run(ops: BatchOp[]): Promise<BatchResult[]> {
    const next = this.tail.then(() => this.runNow(ops));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async runNow(ops: BatchOp[]): Promise<BatchResult[]> {
    if (ops.length === 0) return [];
    // Interleaved, so big files (often neighbours) spread over the threads.
    const n = Math.min(this.workers.length, ops.length);
    const slices = Array.from({ length: n }, (_, i) => ops.filter((_, j) => j % n === i));
    const answers = await Promise.all(slices.map((slice, i) => this.ask(this.workers[i]!, slice)));
    return ops.map((_, j) => answers[j % n]![Math.floor(j / n)]!);
  }

  private ask(w: Worker, ops: BatchOp[]): Promise<BatchResult[]> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (out: BatchResult[]) => {
        settle();
        resolve(out);
      };
      const onError = (err: Error) => {
        settle();
        reject(err);
      };
      const onExit = (code: number) => onError(new Error(`file system worker stopped (exit code ${code})`));
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(ops);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
