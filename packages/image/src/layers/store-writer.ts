import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { StoreWriteError } from '../errors/layer-errors.js';
import { FILES_PER_BUCKET, storeBucket, storeFilePath } from './layer-index.js';
import { FS_THREAD_LIMITS, startWorker } from '../start-worker.js';
import type { StoreAck, StoreBatch, StoreOp } from './store-thread.js';
import { modeOnDisk } from './unprivileged-mode.js';

/** Operations as gathered, before their bytes are packed into the batch buffer. */
type PendingOp =
  | Exclude<StoreOp, ['f', ...unknown[]] | ['d', ...unknown[]]>
  | ['f', string, Buffer[], boolean, number, number, number, number]
  | ['d', number, Buffer[]];

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
  /**
   * Memory handed to the writer thread and not yet written (batch buffers and their operations)
   * before the producer should wait.
   */
  bufferBudget: number;
  /** chown content files (only meaningful as root). */
  chown: boolean;
}

/** A file larger than this is streamed to the writer thread instead of sent whole. */
const STREAM_THRESHOLD = 1024 * 1024;
/** Smallest batch buffer: batches come in many sizes, and rounded-up buffers can be reused. */
const MIN_BATCH_BUFFER = 64 * 1024;
/** Bytes of batch buffers kept for reuse once the writer thread hands them back. */
const POOL_BYTES = 1024 * 1024;
/**
 * What one operation of a batch costs while it waits for the thread, besides its path: the
 * serialised array and the record the thread makes of it.
 */
const OP_COST = 64;

/**
 * Writes the content files of one layer through a dedicated thread, so decompression,
 * parsing and hashing go on while earlier files are written. Files are created with O_EXCL
 * in bucket directories this writer made, so nothing already on disk is followed or replaced.
 */
export class StoreWriter {
  private readonly worker: Worker;
  private batch: PendingOp[] = [];
  /** Memory held by batches sent and not yet answered, and the cost of each, oldest first. */
  private inFlight = 0;
  private readonly sent: number[] = [];
  private sentHead = 0;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  private ended: Promise<void> | undefined;
  private onEnded: (() => void) | undefined;
  private bucketsMade = -1;
  private endAcked = false;
  private exited = false;
  private readonly pool = new BufferPool();

  constructor(
    private readonly dir: string,
    private readonly opts: StoreWriterOptions,
  ) {
    this.worker = startWorker(import.meta.url, 'store-thread', { resourceLimits: FS_THREAD_LIMITS });
    this.worker.on('message', (ack: StoreAck) => this.onAck(ack));
    this.worker.on('error', (err) => {
      this.failure ??= err;
      this.wakeAll();
    });
    this.worker.on('exit', () => {
      // Before its answer to 'end', an exit means writes may be missing (the thread crashed or
      // was stopped): that is a failure, and a later flush must not wait for an answer.
      if (!this.endAcked) this.failure ??= new StoreWriteError('the writer thread stopped before finishing', undefined, 'STORE_WRITER_STOPPED');
      this.exited = true;
      this.wakeAll();
      this.onEnded?.();
    });
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** Starts content file `id` (ids come in increasing order); its bytes follow through the sink. */
  begin(id: number, meta: StoreFileMeta): StoreFileSink {
    this.ensureBucket(id);
    const path = storeFilePath(this.dir, id);
    let chunks: Buffer[] = [];
    let held = 0;
    let streaming = false;
    // Without root, the owner (the user pulling) also gets read: see unprivileged-mode.ts.
    const mode = modeOnDisk(meta.mode, 'file', this.opts.chown);
    const close = (): PendingOp => ['c', id, this.opts.chown, meta.uid, meta.gid, mode, meta.mtime / 1000];
    return {
      push: (chunk) => {
        chunks.push(chunk);
        held += chunk.length;
        if (held < STREAM_THRESHOLD) return;
        if (!streaming) this.batch.push(['o', id, path]);
        streaming = true;
        this.batch.push(['d', id, chunks]);
        chunks = [];
        held = 0;
      },
      end: () => {
        if (!streaming) {
          this.batch.push(['f', path, chunks, this.opts.chown, meta.uid, meta.gid, mode, meta.mtime / 1000]);
          return;
        }
        if (chunks.length > 0) this.batch.push(['d', id, chunks]);
        this.batch.push(close());
      },
    };
  }

  /** Hands the operations gathered so far to the writer thread. */
  send(): void {
    if (this.batch.length === 0 || this.failure) return;
    const batch = pack(this.batch, this.pool);
    // Counted as what it holds until answered: its whole buffer (a batch of small files fills
    // little of one) and its operations, not only the file bytes: a layer of tiny files would
    // otherwise queue all of itself before reaching the budget.
    let cost = batch.data.byteLength;
    for (const op of batch.ops) cost += OP_COST + (op[0] === 'f' || op[0] === 'm' ? op[1].length : op[0] === 'o' ? op[2].length : 0);
    this.worker.postMessage(batch, [batch.data]);
    this.batch = [];
    this.inFlight += cost;
    this.sent.push(cost);
  }

  /** Resolves once the bytes handed over are under budget (or a write failed). */
  whenBelowBudget(): Promise<void> {
    this.send();
    if (this.inFlight <= this.opts.bufferBudget || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Waits until every file is written and stops the thread; rejects with the first write error. */
  async flush(): Promise<void> {
    this.send();
    // The thread handles messages in order: its answer to 'end' comes after every write.
    this.ended ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.onEnded = resolve;
      this.worker.postMessage('end');
    }).then(async () => {
      await this.worker.terminate();
    });
    await this.ended;
    if (this.failure) throw this.failure;
  }

  private onAck(ack: StoreAck): void {
    // The thread answers every batch once, in order ('end' has no batch).
    if (!ack.ended) this.inFlight -= this.sent[this.sentHead++] ?? 0;
    if (this.sentHead === this.sent.length) {
      this.sent.length = 0;
      this.sentHead = 0;
    }
    if (ack.data) this.pool.give(ack.data);
    if (ack.error) this.failure ??= new StoreWriteError(ack.error.message, ack.error.code);
    if (this.inFlight <= this.opts.bufferBudget || this.failure) this.wakeAll();
    if (ack.ended) {
      this.endAcked = true;
      this.onEnded?.();
    }
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private ensureBucket(id: number): void {
    const bucket = Math.floor(id / FILES_PER_BUCKET);
    while (this.bucketsMade < bucket) {
      this.bucketsMade++;
      if (this.bucketsMade === 0) this.batch.push(['m', join(this.dir, 'files')]);
      this.batch.push(['m', join(this.dir, storeBucket(this.bucketsMade * FILES_PER_BUCKET))]);
    }
  }
}

/**
 * Buffers handed back by the writer thread, reused for later batches: a fresh buffer per batch
 * keeps memory growing until some garbage collection frees the old ones.
 */
class BufferPool {
  private free: ArrayBuffer[] = [];
  private bytes = 0;

  take(size: number): ArrayBuffer {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.byteLength >= size && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
    });
    if (best >= 0) {
      const [found] = this.free.splice(best, 1);
      this.bytes -= found!.byteLength;
      return found!;
    }
    // Powers of two, so a buffer fits many later batches.
    let n = MIN_BATCH_BUFFER;
    while (n < size) n *= 2;
    return Buffer.allocUnsafeSlow(n).buffer as ArrayBuffer;
  }

  give(buffer: ArrayBuffer): void {
    if (this.bytes + buffer.byteLength > POOL_BYTES) return;
    this.free.push(buffer);
    this.bytes += buffer.byteLength;
  }
}

/**
 * Copies the bytes of a batch into one buffer of its own, which is then transferred: one copy
 * per byte, where cloning each chunk would copy the whole decompressor buffer it is a view of.
 */
function pack(pending: PendingOp[], pool: BufferPool): StoreBatch {
  let total = 0;
  for (const op of pending) if (op[0] === 'f' || op[0] === 'd') for (const c of op[2]) total += c.length;
  const buffer = pool.take(total);
  const data = Buffer.from(buffer, 0, total);
  let at = 0;
  const put = (chunks: Buffer[]): [number, number] => {
    const start = at;
    for (const c of chunks) at += c.copy(data, at);
    return [start, at];
  };
  const ops = pending.map((op): StoreOp => {
    if (op[0] === 'f') return ['f', op[1], ...put(op[2]), op[3], op[4], op[5], op[6], op[7]];
    if (op[0] === 'd') return ['d', op[1], ...put(op[2])];
    return op;
  });
  return { data: buffer, ops };
}
