import { createHash, type Hash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { decompressLayer, type LayerCompression } from './decompress.js';
import { normaliseEntryPath } from './entry-path.js';
import {
  DiffIDMismatchError,
  LayerByteLimitError,
  LayerEntryLimitError,
  LayerFormatError,
} from '../errors/layer-errors.js';
import { type LayerEntry, type LayerIndex } from './layer-index.js';
import { dropIndexXattrs, IndexWriter } from './index-writer.js';
import { applyStoreXattrs, XattrRecorder } from './xattrs.js';
import { PaxTracker } from './pax-tracker.js';
import { StoreWriter } from './store-writer.js';
import type { XattrWarning } from './xattr-apply.js';
import type { ExtractLimits } from '../types.js';
import { parseWhiteout } from './whiteout.js';

/** Options of {@link extractLayer}. */
export interface ExtractLayerOptions {
  compression: LayerCompression;
  /** `sha256:<hex>` the uncompressed tar must hash to. */
  diffID: string;
  /** A fresh directory (created if missing) that receives content files and the index. */
  dir: string;
  limits: ExtractLimits;
  /** Uncompressed bytes already used by lower layers of the same image (counts against `limits.maxBytes`). */
  priorBytes?: number;
  signal?: AbortSignal;
  /** Progress: bytes of the compressed input read so far, and of the uncompressed tar. */
  onBytes?: (compressed: number, uncompressed: number) => void;
  /** Apply entry ownership to content files (default: when running as root). */
  chown?: boolean;
  /** Told when the layer has extended attributes that cannot be applied (no `setfattr`); the layer is still stored. */
  onWarning?: (w: XattrWarning) => void;
  /**
   * Return the entries in the index (default true). The index file in `dir` always has them; a
   * caller that reads it later saves their memory (a layer of many files holds many records).
   */
  returnEntries?: boolean;
}

/**
 * Memory handed to the store writer and not yet written, per layer. The writer is the slow side,
 * so a few MiB keep it busy; more only holds memory (three layers extract at once).
 */
const BUFFER_BUDGET = 4 * 1024 * 1024;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Decompresses, verifies and stores one layer: each regular file becomes a content file in
 * `dir` (with its mode, owner and mtime), every entry is recorded in the returned index (also
 * saved in `dir`), whiteouts are recorded and never created, device nodes and FIFOs are counted
 * and skipped. Nothing but fresh files under `dir` is ever created. On failure the caller
 * removes `dir`; all writes have settled when the promise rejects.
 */
export async function extractLayer(compressed: Readable, opts: ExtractLayerOptions): Promise<LayerIndex> {
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const writer = new StoreWriter(opts.dir, {
    bufferBudget: BUFFER_BUDGET,
    chown: opts.chown ?? process.getuid?.() === 0,
  });
  const index = new IndexWriter(opts.dir, opts.diffID);
  const recorder = new EntryRecorder(writer, index, opts.limits, opts.returnEntries ?? true);
  // A stalled download yields no chunk to check the signal on: end the input instead.
  const onAbort = () => compressed.destroy(opts.signal?.reason as Error);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // An abort before the listener was added (while the download opened) fires no event.
    opts.signal?.throwIfAborted();
    const tarHash = await feed(compressed, opts, recorder, writer);
    await writer.flush();
    const actual = `sha256:${tarHash.digest.digest('hex')}`;
    if (actual !== opts.diffID) throw new DiffIDMismatchError(opts.diffID, actual);
    const totals = { bytes: tarHash.bytes, fileBytes: recorder.fileBytes, files: recorder.files, skipped: recorder.skipped };
    index.finish(totals);
    if (recorder.xattrs.any) {
      await applyStoreXattrs(opts.dir, recorder.xattrRecords, opts.onWarning);
      // Without setfattr they were removed from the records: the index must say so too.
      if (!recorder.xattrRecords.some((e) => e.xattrs)) await dropIndexXattrs(opts.dir);
    }
    return { version: 1, diffID: opts.diffID, ...totals, entries: recorder.entries };
  } catch (err) {
    compressed.destroy();
    await writer.flush().catch(() => undefined);
    throw opts.signal?.aborted ? opts.signal.reason : err;
  } finally {
    index.close();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function feed(
  compressed: Readable,
  opts: ExtractLayerOptions,
  recorder: EntryRecorder,
  writer: StoreWriter,
): Promise<{ digest: Hash; bytes: number }> {
  const budget = opts.limits.maxBytes - (opts.priorBytes ?? 0);
  const hash = createHash('sha256');
  const parser = new Parser({ strict: false, zstd: false, brotli: false });
  parser.on('entry', (entry: ReadEntry) => recorder.onEntry(entry));
  parser.on('ignoredEntry', (entry: ReadEntry) =>
    recorder.fail(new LayerFormatError(`entry ${JSON.stringify(entry.path)} has an unsupported type ${entry.type}`)),
  );
  let unrecognised = false;
  let sawEOF = false;
  parser.on('eof', () => (sawEOF = true));
  parser.on('warn', (code: string, message: string) => {
    // Said of any archive without entries; an empty layer (end blocks only, or no bytes) is valid.
    if (code === 'TAR_BAD_ARCHIVE' && message === 'Unrecognized archive format') unrecognised = true;
    else recorder.fail(new LayerFormatError(`${code}: ${message}`));
  });
  parser.on('error', (err: Error) => recorder.fail(new LayerFormatError(err.message)));
  const ended = new Promise<void>((resolve) => {
    parser.on('end', () => resolve());
    parser.on('error', () => resolve());
  });

  let compressedBytes = 0;
  let bytes = 0;
  let head = Buffer.alloc(0);
  const chunks = decompressLayer(compressed, opts.compression, (n) => (compressedBytes += n));
  for await (const chunk of chunks) {
    opts.signal?.throwIfAborted();
    if (head.length < GZIP_MAGIC.length) {
      head = Buffer.concat([head, chunk.subarray(0, GZIP_MAGIC.length)]);
      // The parser would silently gunzip a second time; a real tar never starts so.
      if (head.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) {
        throw new LayerFormatError('the uncompressed layer is itself gzip data, not a tar archive');
      }
    }
    bytes += chunk.length;
    if (bytes > budget) throw new LayerByteLimitError(opts.limits.maxBytes);
    recorder.byteBudget = budget - bytes;
    hash.update(chunk);
    // The tracker reads the chunk first, so its record of an entry is ready when the parser emits it.
    recorder.tracker.write(chunk);
    try {
      parser.write(chunk);
    } catch (err) {
      recorder.fail(new LayerFormatError((err as Error).message));
    }
    recorder.throwIfFailed();
    opts.onBytes?.(compressedBytes, bytes);
    await writer.whenBelowBudget();
    recorder.throwIfFailed();
    if (writer.error !== undefined) throw writer.error;
  }
  opts.signal?.throwIfAborted();
  parser.end();
  await ended;
  recorder.throwIfFailed();
  const empty = recorder.count === 0 && (sawEOF || bytes === 0);
  if (unrecognised && !empty) throw new LayerFormatError('not a tar archive');
  return { digest: hash, bytes };
}

/** Longest path and name Linux accepts: anything longer cannot be made and only costs work. */
const PATH_MAX = 4095;
const NAME_MAX = 255;
const MAX_ID = 0xfffffffe;

function checkedName(value: string, entryPath: string): string {
  if (Buffer.byteLength(value) > PATH_MAX || value.split('/').some((c) => Buffer.byteLength(c) > NAME_MAX)) {
    throw new LayerFormatError(`entry ${JSON.stringify(entryPath.slice(0, 200))} has a path or link target too long for any file system`);
  }
  return value;
}

function checkedId(id: number | undefined, entryPath: string): number {
  const v = id ?? 0;
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_ID) {
    throw new LayerFormatError(`entry ${JSON.stringify(entryPath)} has an invalid owner id ${String(id)}`);
  }
  return v;
}

function deviceOf(entry: ReadEntry): NonNullable<LayerEntry['device']> {
  const number = (n: number | undefined) => (n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= 0xfffff ? n : 0);
  return { kind: entry.type === 'BlockDevice' ? 'block' : 'char', major: number(entry.header.devmaj), minor: number(entry.header.devmin) };
}

function finiteOr0(n: number | undefined): number {
  return n !== undefined && Number.isFinite(n) ? n : 0;
}

/** Turns parser entries into index records and content files, enforcing the entry limit. */
class EntryRecorder {
  /** Every entry, when the caller asked for them back. */
  readonly entries: LayerEntry[] = [];
  /** Entries with extended attributes (few): applied to the store once the layer is verified. */
  readonly xattrRecords: LayerEntry[] = [];
  count = 0;
  readonly skipped = { devices: 0, fifos: 0 };
  files = 0;
  fileBytes = 0;
  byteBudget = Infinity;
  readonly tracker = new PaxTracker();
  readonly xattrs = new XattrRecorder();
  private failure: Error | undefined;

  constructor(
    private readonly writer: StoreWriter,
    private readonly index: IndexWriter,
    private readonly limits: ExtractLimits,
    private readonly keep: boolean,
  ) {}

  private push(record: LayerEntry): void {
    this.count++;
    if (this.keep) this.entries.push(record);
    if (record.xattrs) this.xattrRecords.push(record);
    this.index.add(record);
  }

  fail(err: Error): void {
    this.failure ??= err;
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  onEntry(entry: ReadEntry): void {
    if (this.failure) return void entry.resume();
    try {
      this.record(entry);
    } catch (err) {
      this.fail(err as Error);
      entry.resume();
    }
  }

  private record(entry: ReadEntry): void {
    if (this.count >= this.limits.maxEntries) throw new LayerEntryLimitError(this.limits.maxEntries);
    if (entry.size > this.byteBudget) throw new LayerByteLimitError(this.limits.maxBytes);
    const tracked = this.tracker.take(entry.header.cksum, entry.size);
    const path = checkedName(normaliseEntryPath(entry.path), entry.path);
    const base = {
      path,
      mode: (entry.mode ?? 0) & 0o7777,
      uid: checkedId(entry.uid, entry.path),
      gid: checkedId(entry.gid, entry.path),
      mtime: finiteOr0(entry.mtime?.getTime()),
    };
    const whiteout = parseWhiteout(path);
    if (whiteout) {
      this.push({ ...base, path: whiteout.path, type: whiteout.kind });
      return void entry.resume();
    }
    if (path === '' && entry.type !== 'Directory') {
      throw new LayerFormatError(`entry ${JSON.stringify(entry.path)} would replace the root directory with a ${entry.type}`);
    }
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.recordFile(entry, base, tracked.records);
      case 'Directory':
      case 'GNUDumpDir':
        this.push(this.withXattrs({ ...base, type: 'dir' }, tracked.records));
        break;
      case 'SymbolicLink':
        this.push(this.withXattrs({ ...base, type: 'symlink', linkname: checkedName(entry.linkpath ?? '', entry.path) }, tracked.records));
        break;
      case 'Link':
        this.push({ ...base, type: 'hardlink', linkname: checkedName(normaliseEntryPath(entry.linkpath ?? ''), entry.path) });
        break;
      case 'CharacterDevice':
      case 'BlockDevice':
        this.skipped.devices++;
        // Not created here (only root may), but recorded, so a VM disk can make the node.
        this.push({ ...base, type: 'device', device: deviceOf(entry) });
        break;
      case 'FIFO':
        this.skipped.fifos++;
        this.push({ ...base, type: 'fifo' });
        break;
      default:
        throw new LayerFormatError(`entry ${JSON.stringify(entry.path)} has an unsupported type ${entry.type}`);
    }
    entry.resume();
  }

  private withXattrs(record: LayerEntry, records: Map<string, Buffer> | undefined): LayerEntry {
    const xattrs = this.xattrs.forEntry(records, record.path, record.type);
    if (xattrs) record.xattrs = xattrs;
    return record;
  }

  private recordFile(entry: ReadEntry, base: Omit<LayerEntry, 'type'>, records: Map<string, Buffer> | undefined): void {
    const id = this.files++;
    const record = this.withXattrs({ ...base, type: 'file', size: entry.size, id }, records);
    this.push(record);
    this.fileBytes += entry.size;
    const sink = this.writer.begin(id, base);
    const hash = createHash('sha256');
    // 'end' first: a data listener resumes the entry, which may end at once.
    entry.on('end', () => {
      record.digest = `sha256:${hash.digest('hex')}`;
      sink.end();
      this.index.complete();
    });
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      sink.push(chunk);
    });
  }
}

export { readLayerIndex, type LayerIndex, type LayerEntry } from './layer-index.js';
