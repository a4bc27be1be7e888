import { rename, rm } from 'node:fs/promises';
import type { CacheLayout } from '../cache/layout.js';
import { heldDigests } from '../cache/holds.js';
import { tryLock } from '../cache/lock.js';
import { lockNames } from '../cache/lock-names.js';
import { moveToTrash } from './delete-tree.js';

/** What a guarded removal did. */
export type RemoveOutcome = 'removed' | 'held' | 'locked' | 'gone';

export interface RemoveUnlessHeldOptions {
  lockStaleMs: number;
  /** Remove even when held or locked (repair of a damaged entry). */
  force?: boolean;
  /** Asked again once the tree is out of view: true puts it back (e.g. a ref appeared meanwhile). */
  stillWanted?: () => Promise<boolean>;
}

async function putBack(trash: string, path: string): Promise<void> {
  try {
    await rename(trash, path);
  } catch {
    // Someone published the same content again meanwhile: theirs stands, ours goes.
    await rm(trash, { recursive: true, force: true });
  }
}

/**
 * Removes an entry or a layer unless a live process holds or locks it. The tree leaves the
 * namespace with one rename, holds are read again, and a hold that appeared in between puts it
 * back (see holds.ts for the protocol), so a reader either finds a complete tree or none.
 */
export async function removeUnlessHeld(
  layout: CacheLayout,
  kind: 'image' | 'layer',
  digest: string,
  opts: RemoveUnlessHeldOptions,
): Promise<RemoveOutcome> {
  const force = opts.force === true;
  if (!force && (await heldDigests(layout)).has(digest)) return 'held';
  const release = await tryLock(layout.locks, lockNames[kind](digest), { staleMs: opts.lockStaleMs });
  if (!release && !force) return 'locked';
  try {
    const path = kind === 'image' ? layout.entryDir(digest) : layout.layerDir(digest);
    const trash = await moveToTrash(layout, path);
    if (!trash) return 'gone';
    if (!force && ((await heldDigests(layout)).has(digest) || (await opts.stillWanted?.()))) {
      await putBack(trash, path);
      return 'held';
    }
    if (kind === 'layer') await rm(layout.layerRecord(digest), { force: true });
    await rm(trash, { recursive: true, force: true });
    return 'removed';
  } finally {
    await release?.();
  }
}
