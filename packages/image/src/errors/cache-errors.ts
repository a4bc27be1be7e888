import { ImageError, type ImageErrorCode, type ImageErrorOptions } from './image-error.js';

/** An error of the cache itself (its directory, files, locks and entries). */
export class CacheError extends ImageError {
  constructor(code: ImageErrorCode, message: string, options?: ImageErrorOptions) {
    super(code, message, options);
  }
}

/** A file the cache wrote is unreadable or malformed (disk damage or tampering). */
export class CacheCorruptError extends CacheError {
  readonly path: string;
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super('CACHE_CORRUPT', `cache file ${path} is damaged (${detail}); repairing the cache or deleting that path, then pulling again, clears it`, {
      ...options,
      remedy: 'repair',
    });
    this.path = path;
  }
}

/** The cache directory cannot be used as it is (not a cache, wrong type, unsafe mode). */
export class CacheDirError extends CacheError {
  readonly dir: string;
  constructor(dir: string, detail: string, options?: ImageErrorOptions) {
    super('CACHE_DIR_INVALID', `cache directory ${dir} ${detail}`, options);
    this.dir = dir;
  }
}

/**
 * The cache directory (or a directory inside it) belongs to another user: bbox run as root on a
 * user's cache, or as a user on one root made. Same code as {@link CacheDirError}.
 */
export class CacheOwnerError extends CacheDirError {
  /** The subdirectory found to be someone else's; undefined when it is the cache directory itself. */
  readonly subdir: string | undefined;
  /** Who owns it, as `name (uid N)`. */
  readonly owner: string;
  constructor(dir: string, subdir: string | undefined, owner: string, user: string) {
    super(
      dir,
      `${subdir === undefined ? 'belongs' : `has ${subdir}/, which belongs`} to ${owner}, not to ${user} who runs bbox: a cache is used by one user ` +
        '(files one makes there, the other could not replace or remove); use a cache directory of your own, or run bbox as its owner',
      { remedy: 'other-cache' },
    );
    this.subdir = subdir;
    this.owner = owner;
  }
}

/** The cache was written by a newer version with a layout this one does not know. */
export class CacheVersionError extends CacheError {
  readonly dir: string;
  constructor(dir: string, found: string, supported: number) {
    super(
      'CACHE_VERSION_UNSUPPORTED',
      `cache directory ${dir} has layout version ${JSON.stringify(found)} but this version reads layout ${supported}; ` +
        'a newer version wrote it: upgrade, or use another cache directory',
      { remedy: 'other-cache' },
    );
    this.dir = dir;
  }
}

/** A cross-process lock could not be taken in time. */
export class CacheLockedError extends CacheError {
  readonly lock: string;
  constructor(lock: string, detail: string) {
    super('CACHE_LOCKED', `cache lock ${lock} ${detail}; another process is working on it, retry when it has finished`);
    this.lock = lock;
  }
}

/** A digest given to the cache or the puller is not `sha256:<64 lower-case hex>`. */
export class InvalidDigestError extends CacheError {
  constructor(digest: string, what = 'digest') {
    super('INVALID_DIGEST', `${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 lower-case hex>)`);
  }
}

/** An operation needs a cache entry that is not there. */
export class EntryNotFoundError extends CacheError {
  readonly digest: string;
  constructor(digest: string, action: string) {
    super('ENTRY_NOT_FOUND', `cannot ${action}: the cache holds no complete entry for ${digest}; pull the image first`, { remedy: 'pull-first' });
    this.digest = digest;
  }
}

/** An entry cannot be removed because a running pull or VM holds it. */
export class EntryHeldError extends CacheError {
  readonly digest: string;
  constructor(digest: string) {
    super('ENTRY_HELD', `cache entry ${digest} is in use by a running process (pull or VM); stop it and retry, or pass force`);
    this.digest = digest;
  }
}

/** The pull policy forbids fetching and the image is not in the cache. */
export class ImageNotCachedError extends CacheError {
  readonly ref: string;
  readonly policy: string;
  constructor(ref: string, policy: string) {
    super('IMAGE_NOT_CACHED', `image ${ref} is not in the cache and the pull policy is ${policy}, which does not fetch it`, { remedy: 'pull-first' });
    this.ref = ref;
    this.policy = policy;
  }
}

/** The filesystem holding the cache ran out of space (or inodes) while a pull was writing. */
export class CacheFullError extends CacheError {
  readonly dir: string;
  constructor(dir: string, cause: unknown) {
    super(
      'CACHE_FULL',
      `no space left on the filesystem holding the cache ${dir}; nothing of this pull was kept. ` +
        'Freeing space in the cache (gc, evict, purge) or using a cache on a larger disk clears it',
      { cause, remedy: 'free-space' },
    );
    this.dir = dir;
  }
}

/** A cache hit found its entry damaged and could not remove it because a running process holds it. */
export class EntryDamagedError extends CacheError {
  readonly digest: string;
  constructor(digest: string, detail: string) {
    super(
      'ENTRY_DAMAGED',
      `cached image ${digest} is damaged (${detail}) and in use by a running process, so it can be neither served nor replaced; ` +
        'once that process has stopped, repairing the cache and pulling again clears it',
      { remedy: 'repair' },
    );
    this.digest = digest;
  }
}
