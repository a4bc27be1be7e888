import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Answers per pair of filesystems (device ids), so each pair is probed once per process. */
const answers = new Map<string, Promise<boolean>>();

/**
 * True when a file in `srcDir` can be cloned by reflink (FICLONE: shared extents, copy on write)
 * into `destDir`. Probed once per pair of devices with a one-byte file that COPYFILE_FICLONE_FORCE
 * either clones or refuses; the probe files are removed.
 */
export async function reflinkSupported(srcDir: string, destDir: string): Promise<boolean> {
  const key = `${(await stat(srcDir)).dev}:${(await stat(destDir)).dev}`;
  let answer = answers.get(key);
  if (!answer) {
    answer = probe(srcDir, destDir);
    answers.set(key, answer);
  }
  return answer;
}

async function probe(srcDir: string, destDir: string): Promise<boolean> {
  const name = `.reflink-probe-${process.pid}-${randomBytes(6).toString('hex')}`;
  const src = join(srcDir, name);
  const dest = join(destDir, name);
  try {
    await writeFile(src, 'x', { flag: 'wx', mode: 0o600 });
    await copyFile(src, dest, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await rm(src, { force: true });
    await rm(dest, { force: true });
  }
}
