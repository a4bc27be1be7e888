import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * True at most once a day per stamp file: when the stamp is missing or older than a day, it is
 * renewed and true returned. A stamp that cannot be written still lets the hint show.
 */
export async function dueOncePerDay(stamp: string, now = Date.now()): Promise<boolean> {
  const last = Number((await readFile(stamp, 'utf8').catch(() => '')).trim());
  if (Number.isFinite(last) && last > 0 && now - last < DAY_MS) return false;
  try {
    await mkdir(dirname(stamp), { recursive: true, mode: 0o700 });
    await writeFile(stamp, `${now}\n`, { mode: 0o600 });
  } catch {
    // Showing the hint again tomorrow is harmless; failing the pull for it is not.
  }
  return true;
}
