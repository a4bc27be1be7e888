import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from './layout.js';
import { currentOwner, formatOwner, ownerState, parseOwner } from './process-owner.js';
import { tmpName } from './tmp-dirs.js';

/**
 * A hold is a file in holds/ naming digests (entries or layers) a live process is using: a pull
 * building an image, a VM booted from it. gc, evict and purge leave held digests alone. A hold of a
 * dead process counts for nothing and is swept. Protocol with removers: a holder writes its hold
 * first and then checks the entry exists; a remover renames the entry away first and then checks
 * the holds, putting it back if one appeared. Either the holder sees no entry or the remover sees
 * the hold.
 */
const NAME_RE = /^(\d+-\d+-\d+)\.([a-f0-9]+)\.json$/;

export async function addHold(layout: CacheLayout, digests: string[]): Promise<() => Promise<void>> {
  const path = join(layout.holds, `${formatOwner(currentOwner())}.${randomBytes(8).toString('hex')}.json`);
  // Written aside and renamed in, so a remover never reads a hold half-written. No fsync: a hold
  // means nothing after a crash anyway.
  const tmp = join(layout.tmp, tmpName('hold'));
  await writeFile(tmp, `${JSON.stringify({ digests, created: new Date().toISOString() })}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(path, { force: true });
  };
}

async function readHold(path: string): Promise<string[]> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as { digests?: unknown };
    return Array.isArray(v.digests) ? v.digests.filter((d): d is string => typeof d === 'string') : [];
  } catch {
    // Released between the listing and the read.
    return [];
  }
}

/** Digests held by live processes. Holds of dead processes are removed on the way (unless `dryRun`). */
export async function heldDigests(layout: CacheLayout, opts: { dryRun?: boolean } = {}): Promise<Set<string>> {
  const held = new Set<string>();
  for (const name of await readdir(layout.holds)) {
    const m = NAME_RE.exec(name);
    const owner = m ? parseOwner(m[1]!) : undefined;
    const path = join(layout.holds, name);
    if (owner && ownerState(owner) === 'dead') {
      if (!opts.dryRun) await rm(path, { force: true });
      continue;
    }
    for (const d of await readHold(path)) held.add(d);
  }
  return held;
}
