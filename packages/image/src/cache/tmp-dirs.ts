import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from './layout.js';
import { currentOwner, formatOwner, ownerState, parseOwner } from './process-owner.js';

const KIND_RE = /^[a-z][a-z0-9-]{0,31}$/;
const NAME_RE = /^([a-z][a-z0-9-]{0,31})\.(\d+-\d+-\d+)\.([a-f0-9]+)$/;
/** Leftovers whose owner cannot be checked (another pid namespace, odd names) go after a day. */
export const UNKNOWN_OWNER_STALE_MS = 24 * 3_600_000;

/** A name in tmp/ that records its kind and owner: `<kind>.<pid>-<start>-<ns>.<random>`. */
export function tmpName(kind: string): string {
  if (!KIND_RE.test(kind)) throw new TypeError(`tmp kind ${JSON.stringify(kind)} must be lower-case letters, digits and -`);
  return `${kind}.${formatOwner(currentOwner())}.${randomBytes(8).toString('hex')}`;
}

/** Makes a fresh private directory in the cache's tmp/ (same filesystem as entries, so rename publishes it). */
export async function makeTmpDir(layout: CacheLayout, kind: string): Promise<string> {
  const dir = join(layout.tmp, tmpName(kind));
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

/** A tmp/ name whose owner is dead (or unknowable and old): safe to remove. */
export interface StaleTmp {
  name: string;
  path: string;
  kind: string;
}

async function isStale(path: string, name: string): Promise<boolean> {
  const m = NAME_RE.exec(name);
  const owner = m ? parseOwner(m[2]!) : undefined;
  const state = owner ? ownerState(owner) : 'unknown';
  if (state !== 'unknown') return state === 'dead';
  try {
    return Date.now() - (await lstat(path)).mtimeMs > UNKNOWN_OWNER_STALE_MS;
  } catch {
    return false;
  }
}

/** Lists leftovers of processes that are gone (crashed pulls, interrupted removals). */
export async function staleTmpEntries(layout: CacheLayout): Promise<StaleTmp[]> {
  const out: StaleTmp[] = [];
  for (const name of await readdir(layout.tmp)) {
    const path = join(layout.tmp, name);
    if (await isStale(path, name)) out.push({ name, path, kind: NAME_RE.exec(name)?.[1] ?? 'unknown' });
  }
  return out;
}

/** True when `name` (in tmp/) belongs to a live process. */
export function isLiveTmpName(name: string): boolean {
  const m = NAME_RE.exec(name);
  const owner = m ? parseOwner(m[2]!) : undefined;
  return owner !== undefined && ownerState(owner) !== 'dead';
}
