import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CloneDestinationError, CloneFailedError } from '../errors/clone-errors.js';
import { reflinkSupported } from './reflink.js';
import { isInside } from '../cleanup/delete-tree.js';

/** Options of `Cache.clone`. */
export interface CloneOptions {
  signal?: AbortSignal;
}

/** What `Cache.clone` made. */
export interface CloneResult {
  /** The private copy (absolute). */
  path: string;
  /** `reflink` when the filesystems share extents copy-on-write, else a plain `copy`. */
  method: 'reflink' | 'copy';
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The real path `path` has or would have once created (symlinks of existing ancestors resolved). */
async function realTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    const parent = dirname(path);
    if (parent === path) throw err;
    return join(await realTarget(parent), basename(path));
  }
}

/**
 * Checks `dest` (absent or an empty directory, outside the cache) and creates it when absent.
 * @returns true when this call created it.
 */
async function prepareDest(dest: string, cacheRoot: string): Promise<boolean> {
  const real = await realTarget(dest);
  if (real === cacheRoot || isInside(cacheRoot, real)) {
    throw new CloneDestinationError(dest, `is inside the image cache ${cacheRoot}, whose content bbox alone manages; choose a directory outside it`, 'CLONE_DEST_IN_CACHE');
  }
  const st = await stat(dest).catch((err: unknown) => {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) {
    await mkdir(dest, { recursive: true, mode: 0o700 });
    return true;
  }
  if (!st.isDirectory()) throw new CloneDestinationError(dest, 'exists and is not a directory; choose a new or empty directory', 'CLONE_DEST_INVALID');
  if ((await readdir(dest)).length > 0) throw new CloneDestinationError(dest, 'is not empty; choose a new or empty directory', 'CLONE_DEST_NOT_EMPTY');
  return false;
}

/** Runs cp; resolves with its stderr when it fails, undefined when it succeeds. */
function runCp(args: string[], signal: AbortSignal | undefined): Promise<string | undefined> {
  return new Promise((done, fail) => {
    const child = spawn('cp', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s.slice(0, 4096 - stderr.length)));
    child.on('error', fail);
    child.on('close', (code, sig) => done(code === 0 ? undefined : stderr.trim() || `cp ended with ${sig ?? `code ${code}`}`));
  });
}

/**
 * Copies the tree `src` into `dest` as a private, writable tree: modes (setuid included),
 * ownership (when root), mtimes of files, directories and symlinks, symlink targets and the
 * hardlink groups within the tree are kept; no file of `dest` shares an inode with `src`.
 * GNU `cp -a` does the copy because it sets nanosecond times and clones extents (FICLONE), which
 * Node cannot; `--reflink=auto` where the probe found reflinks work, `--reflink=never` otherwise.
 * @param probeDir a scratch directory on the filesystem of `src` for the reflink probe.
 */
export async function cloneTree(src: string, dest: string, opts: { cacheRoot: string; probeDir: string; signal?: AbortSignal }): Promise<CloneResult> {
  const path = resolve(dest);
  const created = await prepareDest(path, opts.cacheRoot);
  let failure: string | undefined;
  let method: CloneResult['method'] = 'copy';
  try {
    method = (await reflinkSupported(opts.probeDir, path)) ? 'reflink' : 'copy';
    failure = await runCp(['-a', `--reflink=${method === 'reflink' ? 'auto' : 'never'}`, '--', `${src}/.`, path], opts.signal);
  } catch (err) {
    await removeCopy(path, created);
    throw new CloneFailedError(path, (err as Error).message, { cause: err });
  }
  if (failure !== undefined) {
    await removeCopy(path, created);
    throw new CloneFailedError(path, failure);
  }
  return { path, method };
}

/** Removes what a failed clone wrote: `dest` itself when it was created, else its content. */
async function removeCopy(dest: string, created: boolean): Promise<void> {
  if (created) return rm(dest, { recursive: true, force: true });
  const st = await lstat(dest).catch(() => undefined);
  if (!st?.isDirectory()) return;
  for (const name of await readdir(dest)) await rm(join(dest, name), { recursive: true, force: true });
}
