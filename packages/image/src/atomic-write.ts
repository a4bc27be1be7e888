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
  const tmp = tmpPath ?? join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
