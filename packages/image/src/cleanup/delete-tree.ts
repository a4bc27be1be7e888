import { lstat, readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { CacheLayout } from '../cache/layout.js';
import { tmpName } from '../cache/tmp-dirs.js';

/** True when `path` is strictly below `root` (both absolute, already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Takes `path` out of view with one rename into tmp/ (so no reader ever sees half a tree), then
 * deletes it. A crash mid-delete leaves a tmp/ leftover of a dead owner, removed at next open.
 * Symlinks are removed, never followed. Refuses any path outside the cache.
 * @returns false when `path` did not exist.
 */
export async function deleteTree(layout: CacheLayout, path: string): Promise<boolean> {
  // Renaming first also claims the tree: of several processes sweeping one leftover, one deletes it.
  let trash: string | undefined;
  try {
    trash = await moveToTrash(layout, path);
  } catch (err) {
    if (errno(err) !== 'EXDEV') throw err;
    trash = path;
  }
  if (!trash) return false;
  await rm(trash, { recursive: true, force: true });
  return true;
}

/** Moves `path` into tmp/ under a trash name; undefined when it did not exist. */
export async function moveToTrash(layout: CacheLayout, path: string): Promise<string | undefined> {
  if (!isInside(layout.root, path)) throw new Error(`refusing to move ${path}: it is not inside the cache ${layout.root}`);
  const trash = join(layout.tmp, tmpName('trash'));
  try {
    await rename(path, trash);
    return trash;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Bytes used by a tree (file sizes, symlinks and directories counted as their own size). */
export async function treeBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await treeBytes(join(path, name));
  return total;
}
