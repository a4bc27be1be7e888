import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { warn, type CommandIo } from '../output/command-io.js';

/** Where background refreshes keep their logs and failure reports: `refresh/` in the cache directory. */
export function refreshStateDir(cacheDir: string): string {
  return join(cacheDir, 'refresh');
}

/** The file name stem of one ref's refresh (log, failure report, lock). */
export function refreshKey(ref: string, platform: string | undefined): string {
  return createHash('sha256')
    .update(`${ref}\n${platform ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

/** What a failed background refresh leaves for the next command to report. */
export interface RefreshFailure {
  ref: string;
  platform?: string;
  at: string;
  message: string;
  code?: string;
  log: string;
}

const FAILED = '.failed.json';

/**
 * Prints each failure a background refresh left in this cache as a warning, once: a report is
 * claimed by a rename before it is read, so two commands never both print it. Costs one readdir
 * when there is nothing to report.
 */
export async function reportFailedRefreshes(cacheDir: string, io: Pick<CommandIo, 'stderr'>): Promise<void> {
  const dir = refreshStateDir(cacheDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.endsWith(FAILED))) {
    const claimed = join(dir, `${name}.${process.pid}.reporting`);
    try {
      await rename(join(dir, name), claimed);
    } catch {
      continue;
    }
    try {
      const f = JSON.parse(await readFile(claimed, 'utf8')) as RefreshFailure;
      warn({ stderr: io.stderr } as CommandIo, `background refresh of ${f.ref} failed at ${f.at}, the cached image was kept: ${f.message} (log: ${f.log})`);
    } catch {
      // A report that cannot be read says nothing useful; it is dropped all the same.
    } finally {
      await rm(claimed, { force: true });
    }
  }
}

/** The failure report's path for one ref. */
export function failureFile(cacheDir: string, key: string): string {
  return join(refreshStateDir(cacheDir), `${key}${FAILED}`);
}
