import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that readers see the old content or the new, never a part: the bytes
 * go to a temporary file first (same filesystem), are flushed, then renamed over `path`.
 * `tmpPath` places that file (e.g. in the cache's tmp/ so listings of `dirname(path)` stay clean);
 * by default it is a hidden sibling.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, tmpPath?: string): Promise<void> {
  await (await prepareAtomicWrite(path, data, tmpPath)).commit();
}

/** A write whose bytes are already on disk beside their destination, waiting to be put in place. */
export interface PreparedWrite {
  /** Renames the flushed file over the destination: readers see the new content from now on. */
  commit(): Promise<void>;
  /** Removes the flushed file; the destination keeps what it had. */
  discard(): Promise<void>;
}

/**
 * The first half of {@link writeFileAtomic}: the temporary file is written and flushed now, the
 * rename waits for `commit`. Lets a caller pay for the flush while it waits for something else.
 */
export async function prepareAtomicWrite(path: string, data: string | Buffer, tmpPath?: string): Promise<PreparedWrite> {
  const tmp = tmpPath ?? join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return {
    commit: async () => {
      try {
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    discard: () => rm(tmp, { force: true }),
  };
}
