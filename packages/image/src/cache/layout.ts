import { chmod, lstat, mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { CacheDirError, CacheVersionError, InvalidDigestError } from '../errors/cache-errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { isSha256Digest } from '../digest.js';
import { checkCacheOwner } from './owner-check.js';

/** Version of the on-disk layout described in docs/cache-layout.md. */
export const LAYOUT_VERSION = 1;
/** First word of the VERSION file: what makes a directory a bbox image cache. */
export const VERSION_MAGIC = 'broodbox-image-cache';

const SUBDIRS = ['images', 'layers', 'refs', 'aliases', 'locks', 'holds', 'tmp'] as const;

/** Names inside an entry directory that belong to the cache itself, never artifacts. */
export const ENTRY_FILES = { rootfs: 'rootfs', meta: 'meta.json', summary: 'summary.json', lastUsed: 'last-used' } as const;

/** `$XDG_CACHE_HOME/broodbox/images`, or `~/.cache/broodbox/images`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  return join(base, 'broodbox', 'images');
}

export function checkDigest(digest: string, what = 'digest'): string {
  if (!isSha256Digest(digest)) throw new InvalidDigestError(String(digest), what);
  return digest;
}

/** `sha256:<hex>` → `sha256-<hex>` (a `:` is awkward in paths). */
export function digestDirName(digest: string): string {
  return checkDigest(digest).replace(':', '-');
}

/** `sha256-<hex>` → `sha256:<hex>`; undefined for any other name. */
export function digestFromDirName(name: string): string | undefined {
  const d = name.replace('-', ':');
  return isSha256Digest(d) && name.startsWith('sha256-') ? d : undefined;
}

/** Every path of the cache, computed from its root. Does no I/O. */
export class CacheLayout {
  readonly root: string;
  readonly images: string;
  readonly layers: string;
  readonly refs: string;
  readonly aliases: string;
  readonly locks: string;
  readonly holds: string;
  readonly tmp: string;
  readonly versionFile: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.images = join(this.root, 'images');
    this.layers = join(this.root, 'layers');
    this.refs = join(this.root, 'refs');
    this.aliases = join(this.root, 'aliases');
    this.locks = join(this.root, 'locks');
    this.holds = join(this.root, 'holds');
    this.tmp = join(this.root, 'tmp');
    this.versionFile = join(this.root, 'VERSION');
  }

  entryDir(digest: string): string {
    return join(this.images, digestDirName(digest));
  }

  entryFile(digest: string, file: keyof typeof ENTRY_FILES): string {
    return join(this.entryDir(digest), ENTRY_FILES[file]);
  }

  layerDir(diffID: string): string {
    return join(this.layers, digestDirName(diffID));
  }

  /** Sidecar record of a layer (size, time); beside the layer dir, which the composer owns. */
  layerRecord(diffID: string): string {
    return `${this.layerDir(diffID)}.json`;
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function readVersion(layout: CacheLayout): Promise<string | undefined> {
  try {
    return (await readFile(layout.versionFile, 'utf8')).trim();
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir retries forever where mkdir answers
 * ENOENT under a parent that exists (/proc); here each missing level is made once, and the first
 * failure is thrown with the path it happened at.
 */
async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  for (let p = dir; ; p = dirname(p)) {
    const st = await stat(p).catch((err: unknown) => {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (st) break;
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    await mkdir(p, { mode }).catch((err: unknown) => {
      if (errno(err) !== 'EEXIST') throw err;
    });
  }
}

const MKDIR_FAILURES: Record<string, string> = {
  ENOENT: 'the filesystem there does not allow new directories',
  ENOTDIR: 'a parent is not a directory',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only filesystem',
  ENOSPC: 'no space left',
};

function mkdirFailure(err: unknown, dir: string): string {
  const code = errno(err);
  const at = (err as NodeJS.ErrnoException).path;
  if (!code) return String(err);
  return `${MKDIR_FAILURES[code] ?? 'mkdir failed'} (${code}${at && at !== dir ? ` at ${at}` : ''})`;
}

async function ensureRoot(dir: string): Promise<string> {
  try {
    await makeDirs(dir, 0o700);
  } catch (err) {
    throw new CacheDirError(dir, `cannot be created: ${mkdirFailure(err, dir)}; another cache directory is needed`, { cause: err, remedy: 'other-cache' });
  }
  // A symlinked cache dir is fine; everything below works on the real path.
  const real = await realpath(dir);
  const st = await stat(real);
  if (!st.isDirectory()) throw new CacheDirError(dir, 'is not a directory; another cache directory is needed', { remedy: 'other-cache' });
  return real;
}

async function ensureMode(dir: string): Promise<void> {
  const st = await stat(dir);
  if ((st.mode & 0o077) === 0) return;
  try {
    await chmod(dir, 0o700);
  } catch (err) {
    throw new CacheDirError(
      dir,
      `is mode ${(st.mode & 0o777).toString(8)} and cannot be made 0700 (${errno(err)}); run chmod 700 on it`,
      { cause: err },
    );
  }
}

/** The temporary file of a VERSION write in progress (see writeFileAtomic). */
function isVersionWrite(name: string): boolean {
  return /^\.VERSION\.\d+\.[0-9a-f]+\.tmp$/.test(name);
}

async function ensureVersion(layout: CacheLayout, shownDir: string): Promise<void> {
  const found = await readVersion(layout);
  if (found === undefined) {
    // Another bbox process opening the same new directory at this moment may be writing VERSION
    // (its temporary file is here) or have just written it: neither makes the directory foreign.
    const names = (await readdir(layout.root)).filter((n) => !isVersionWrite(n));
    if (names.includes('VERSION')) return ensureVersion(layout, shownDir);
    if (names.length > 0) {
      throw new CacheDirError(
        shownDir,
        'is not empty and has no VERSION file, so it is not a bbox image cache; ' +
          'bbox will not write into it: a new or empty directory is needed',
        { remedy: 'other-cache' },
      );
    }
    await writeFileAtomic(layout.versionFile, `${VERSION_MAGIC} ${LAYOUT_VERSION}\n`);
    return;
  }
  if (found !== `${VERSION_MAGIC} ${LAYOUT_VERSION}`) throw new CacheVersionError(shownDir, found, LAYOUT_VERSION);
}

async function ensureSubdirs(layout: CacheLayout, shownDir: string): Promise<void> {
  for (const name of SUBDIRS) {
    const p = join(layout.root, name);
    await mkdir(p, { mode: 0o700 }).catch((err: unknown) => {
      if (errno(err) !== 'EEXIST') throw err;
    });
    // A symlink here would let removals and writes land outside the cache: refuse it.
    const st = await lstat(p);
    if (!st.isDirectory()) throw new CacheDirError(shownDir, `has ${name} that is not a plain directory; move it away and retry`);
    await checkCacheOwner(p, shownDir, name);
  }
}

/**
 * Creates (or checks) the layout under `dir`: root mode 0700, VERSION marker, subdirectories.
 * Refuses a non-empty directory that is not a cache, and a cache of another layout version.
 * @returns the layout at the real path of `dir`.
 */
export async function openLayout(dir: string): Promise<CacheLayout> {
  const real = await ensureRoot(resolve(dir));
  await checkCacheOwner(real, dir);
  const layout = new CacheLayout(real);
  await ensureVersion(layout, dir);
  await ensureMode(real);
  await ensureSubdirs(layout, dir);
  return layout;
}

/** The layout under `dir` when it exists and is a cache of this version; undefined when absent. */
export async function existingLayout(dir: string): Promise<CacheLayout | undefined> {
  let real: string;
  try {
    real = await realpath(resolve(dir));
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  const layout = new CacheLayout(real);
  const found = await readVersion(layout);
  if (found === undefined) {
    throw new CacheDirError(dir, 'has no VERSION file, so it is not a bbox image cache; nothing was removed');
  }
  await checkCacheOwner(real, dir);
  if (found !== `${VERSION_MAGIC} ${LAYOUT_VERSION}`) throw new CacheVersionError(dir, found, LAYOUT_VERSION);
  return layout;
}

/** True when something (of any type) is at `path`; false when it or a parent is missing. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw err;
  }
}
