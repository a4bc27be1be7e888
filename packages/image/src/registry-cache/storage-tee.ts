import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { teeTempDir, type StoredBlobPaths } from './storage-paths.js';

/** Where a verified blob stream is also written. */
export interface TeeTarget {
  /** The cache's storage root (distribution's `rootdirectory`). */
  dataDir: string;
  paths: StoredBlobPaths;
  /** Called once the blob and its link are in place. */
  onStored?: () => void | Promise<void>;
  /** Told why the blob could not be stored (the stream itself is unaffected). */
  onSkipped?: (err: unknown) => void;
}

/** Temp files older than this are what a killed process left behind. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const sweptDirs = new Set<string>();

/** Once per process and storage: removes temp files a killed process left behind. */
async function sweepStaleTemps(dir: string): Promise<void> {
  if (sweptDirs.has(dir)) return;
  sweptDirs.add(dir);
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (st && now - st.mtimeMs > STALE_TEMP_MS) await rm(p, { force: true }).catch(() => undefined);
  }
}

/** Writes `content` to `file` by a temp file in `tempDir` and a rename: readers see all of it or nothing. */
async function writeAtomically(tempDir: string, file: string, content: string): Promise<void> {
  const tmp = join(tempDir, `link.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await rename(tmp, file).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/**
 * Passes `source` (a blob stream that errors unless its bytes match its digest) through unchanged,
 * and writes the same bytes into a registry cache's storage in distribution's layout, so that the
 * cache serves the blob from then on without asking its upstream.
 *
 * The bytes go to a temp file (0600) outside distribution's tree; only once the source has ended,
 * that is once the digest has been verified, is it synced and renamed to the blob's `data`, and
 * then the repository's link written (by temp file and rename too). Writing can fail (a full disk,
 * permissions): then the temp file is removed, the blob is not stored, and the stream carries on
 * as if there were no tee. A source that errors, or a consumer that stops early, stores nothing.
 */
export function teeIntoStorage(source: Readable, target: TeeTarget): Readable {
  const tempDir = teeTempDir(target.dataDir);
  const temp = join(tempDir, `blob.${process.pid}.${randomBytes(6).toString('hex')}`);
  let file: FileHandle | undefined;
  /** writing: bytes go to the temp file; committing: the verified blob is being put in place; settled: nothing more to do. */
  let state: 'writing' | 'committing' | 'settled' = 'writing';

  const abandon = async (err: unknown) => {
    if (state === 'settled') return;
    state = 'settled';
    const fh = file;
    file = undefined;
    await fh?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    target.onSkipped?.(err);
  };

  const commit = async () => {
    state = 'committing';
    const fh = file!;
    file = undefined;
    await fh.sync();
    await fh.close();
    await mkdir(dirname(target.paths.data), { recursive: true, mode: 0o700 });
    // The data first: a link never names a blob that is not there.
    await rename(temp, target.paths.data);
    await writeAtomically(tempDir, target.paths.link, target.paths.linkContent);
    state = 'settled';
    await target.onStored?.();
  };

  const tee = new Transform({
    construct(callback: (err?: Error | null) => void) {
      void (async () => {
        try {
          await mkdir(tempDir, { recursive: true, mode: 0o700 });
          await sweepStaleTemps(tempDir);
          file = await open(temp, 'wx', 0o600);
        } catch (err) {
          await abandon(err);
        }
        callback();
      })();
    },
    transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback) {
      this.push(chunk);
      const fh = file;
      if (!fh) return callback();
      // Waiting for the disk is the back-pressure: bytes are never buffered without bound.
      fh.write(chunk).then(
        () => callback(),
        (err: unknown) => void abandon(err).then(() => callback()),
      );
    },
    flush(callback: TransformCallback) {
      if (!file || state !== 'writing') return callback();
      commit().then(
        () => callback(),
        (err: unknown) => void abandon(err).then(() => callback()),
      );
    },
    destroy(err: Error | null, callback: (err?: Error | null) => void) {
      // The source failed (wrong bytes, a dropped download) or the consumer stopped early: store
      // nothing. A verified blob already being put in place is finished.
      if (state !== 'writing') return callback(err);
      abandon(err ?? new Error('the stream was closed before its end')).then(() => callback(err), () => callback(err));
    },
  });
  pipeline(source, tee, () => undefined);
  return tee;
}
