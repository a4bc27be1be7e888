import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { storeBucket, storeFilePath } from './layer-index.js';

/** Ownership, mode and time given to a content file once its bytes are written. */
export interface StoreFileMeta {
  mode: number;
  uid: number;
  gid: number;
  /** ms since the epoch */
  mtime: number;
}

/** Receives the bytes of one content file, in order. */
export interface StoreFileSink {
  push(chunk: Buffer): void;
  end(): void;
}

export interface StoreWriterOptions {
  /** Files written at once (each write is a few thread-pool round trips). */
  concurrency: number;
  /** Bytes held in memory before the producer should wait ({@link StoreWriter.whenBelowBudget}). */
  bufferBudget: number;
  /** chown content files (only meaningful as root). */
  chown: boolean;
}

interface Job {
  chunks: Buffer[];
  ended: boolean;
  wake?: () => void;
}

/**
 * Writes content files of one layer into its store directory with bounded concurrency, so
 * decompression and parsing go on while earlier files are written. Files are created with
 * O_EXCL in directories this writer made, so nothing already on disk is followed or replaced.
 */
export class StoreWriter {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly buckets = new Map<string, Promise<unknown>>();
  private readonly pending = new Set<Promise<void>>();
  private buffered = 0;
  private budgetWaiters: Array<() => void> = [];
  private failure: unknown;

  constructor(
    private readonly dir: string,
    private readonly opts: StoreWriterOptions,
  ) {
    this.limit = pLimit(opts.concurrency);
  }

  /** The first write error, if any (the producer checks it between chunks). */
  get error(): unknown {
    return this.failure;
  }

  /** Starts content file `id`; its bytes follow through the returned sink. */
  begin(id: number, meta: StoreFileMeta): StoreFileSink {
    const job: Job = { chunks: [], ended: false };
    const run = this.limit(() => this.write(id, meta, job)).catch((err: unknown) => {
      this.failure ??= err;
      this.release(job.chunks.reduce((n, c) => n + c.length, 0));
      job.chunks = [];
    });
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
    return {
      push: (chunk) => {
        if (this.failure !== undefined) return;
        job.chunks.push(chunk);
        this.buffered += chunk.length;
        job.wake?.();
      },
      end: () => {
        job.ended = true;
        job.wake?.();
      },
    };
  }

  /** Resolves once buffered bytes are under budget (or a write failed). */
  whenBelowBudget(): Promise<void> {
    if (this.buffered <= this.opts.bufferBudget || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.budgetWaiters.push(resolve));
  }

  /** Waits for every started file to be written; rejects with the first write error. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.failure !== undefined) throw this.failure;
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    if (this.buffered <= this.opts.bufferBudget || this.failure !== undefined) {
      const waiters = this.budgetWaiters;
      this.budgetWaiters = [];
      for (const w of waiters) w();
    }
  }

  private bucket(id: number): Promise<unknown> {
    const rel = storeBucket(id);
    let made = this.buckets.get(rel);
    if (!made) {
      made = mkdir(join(this.dir, rel), { recursive: true, mode: 0o700 });
      this.buckets.set(rel, made);
    }
    return made;
  }

  private async write(id: number, meta: StoreFileMeta, job: Job): Promise<void> {
    if (this.failure !== undefined) return;
    await this.bucket(id);
    const fh = await open(storeFilePath(this.dir, id), 'wx', 0o600);
    try {
      await this.drain(fh, job);
      // chown first: it clears setuid/setgid, which the chmod then sets.
      if (this.opts.chown) await fh.chown(meta.uid, meta.gid);
      await fh.chmod(meta.mode);
      const t = meta.mtime / 1000;
      await fh.utimes(t, t);
    } finally {
      await fh.close();
    }
  }

  private async drain(fh: FileHandle, job: Job): Promise<void> {
    for (;;) {
      if (job.chunks.length > 0) {
        const chunks = job.chunks;
        job.chunks = [];
        const bytes = chunks.reduce((n, c) => n + c.length, 0);
        await writeAll(fh, chunks, bytes);
        this.release(bytes);
        continue;
      }
      if (job.ended || this.failure !== undefined) return;
      await new Promise<void>((resolve) => (job.wake = resolve));
      job.wake = undefined;
    }
  }
}

async function writeAll(fh: FileHandle, chunks: Buffer[], bytes: number): Promise<void> {
  let { bytesWritten } = await fh.writev(chunks);
  while (bytesWritten < bytes) {
    const rest = Buffer.concat(chunks).subarray(bytesWritten);
    bytesWritten += (await fh.write(rest)).bytesWritten;
  }
}
