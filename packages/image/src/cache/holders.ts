import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EntryHolder } from '../errors/selection-errors.js';
import type { CacheLayout } from './layout.js';
import { lockHolder } from './lock.js';
import { lockNames } from './lock-names.js';
import { ownerState, parseOwner, type Owner } from './process-owner.js';

const HOLD_NAME_RE = /^(\d+-\d+-\d+)\.[a-f0-9]+\.json$/;

/** The command line of a live local process, shortened for a message; undefined when unreadable. */
function commandOf(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // `node /…/bin/bbox.js run …` reads better as `bbox run …`.
    const bbox = argv.findIndex((a) => /(^|\/)bbox(\.js)?$/.test(a));
    const words = bbox >= 0 ? ['bbox', ...argv.slice(bbox + 1)] : argv;
    const text = words.join(' ');
    return text.length > 80 ? `${text.slice(0, 77)}...` : text || undefined;
  } catch {
    return undefined;
  }
}

function toHolder(owner: Owner, via: EntryHolder['via']): EntryHolder {
  const local = ownerState(owner) === 'alive';
  const command = local ? commandOf(owner.pid) : undefined;
  return { pid: owner.pid, via, ...(owner.host ? { host: owner.host } : {}), ...(command ? { command } : {}) };
}

async function holdsNaming(layout: CacheLayout, digest: string): Promise<Owner[]> {
  const owners: Owner[] = [];
  for (const name of await readdir(layout.holds).catch(() => [] as string[])) {
    const owner = parseOwner(HOLD_NAME_RE.exec(name)?.[1] ?? '');
    if (!owner || ownerState(owner) === 'dead') continue;
    const text = await readFile(join(layout.holds, name), 'utf8').catch(() => '');
    try {
      const digests = (JSON.parse(text) as { digests?: unknown }).digests;
      if (Array.isArray(digests) && digests.includes(digest)) owners.push(owner);
    } catch {
      // Released (or half-renamed) between the listing and the read.
    }
  }
  return owners;
}

/**
 * Who uses an entry now: processes whose hold names it (a VM, a command reading it) and the
 * process holding its lock (a pull building it), with their command lines where readable.
 */
export async function holdersOf(layout: CacheLayout, digest: string): Promise<EntryHolder[]> {
  const [held, locker] = await Promise.all([holdsNaming(layout, digest), lockHolder(layout.locks, lockNames.image(digest))]);
  const holders = held.map((o) => toHolder(o, 'hold'));
  if (locker && ownerState(locker) !== 'dead') holders.push(toHolder(locker, 'lock'));
  return holders;
}
