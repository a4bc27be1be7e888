import { readFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { CacheOwnerError } from '../errors/cache-errors.js';

/**
 * A cache belongs to one user. Files another user made there could be neither replaced nor
 * removed (a user cannot touch root's; root's copies in a user's cache lock that user out), so a
 * cache directory owned by someone else is refused before anything is written into it.
 */
export async function checkCacheOwner(path: string, shownDir: string, subdir?: string): Promise<void> {
  const me = process.geteuid?.();
  if (me === undefined) return;
  const st = await lstat(path);
  if (st.uid !== me) throw new CacheOwnerError(shownDir, subdir, describeUid(st.uid), describeUid(me));
}

/** `name (uid N)`, or `uid N` when the account is not in /etc/passwd. */
export function describeUid(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid && id !== '') return `${name} (uid ${uid})`;
    }
  } catch {
    // No passwd file: the number alone.
  }
  return `uid ${uid}`;
}
