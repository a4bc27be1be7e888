/** Base class of the cache's errors; `code` is stable for programs. */
export class CacheError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A file the cache wrote is unreadable or malformed (disk damage or tampering). */
export class CacheCorruptError extends CacheError {
  readonly path: string;
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(
      `cache file ${path} is damaged (${detail}); run \`bbox cache verify --repair\` or delete that path and pull again`,
      'CACHE_CORRUPT',
      options,
    );
    this.path = path;
  }
}

/** The cache directory cannot be used as it is (not a cache, wrong type, unsafe mode). */
export class CacheDirError extends CacheError {
  readonly dir: string;
  constructor(dir: string, detail: string, options?: { cause?: unknown }) {
    super(`cache directory ${dir} ${detail}`, 'CACHE_DIR_INVALID', options);
    this.dir = dir;
  }
}

/** The cache was written by a newer bbox with a layout this one does not know. */
export class CacheVersionError extends CacheError {
  constructor(dir: string, found: string, supported: number) {
    super(
      `cache directory ${dir} has layout version ${JSON.stringify(found)} but this bbox reads version ${supported}; ` +
        'upgrade bbox or choose another directory with --cache-dir',
      'CACHE_VERSION_UNSUPPORTED',
    );
  }
}

/** A cross-process lock could not be taken in time. */
export class CacheLockedError extends CacheError {
  readonly lock: string;
  constructor(lock: string, detail: string) {
    super(`cache lock ${lock} ${detail}; another bbox process is working on it, retry when it has finished`, 'CACHE_LOCKED');
    this.lock = lock;
  }
}

/** A digest given to the cache is not `sha256:<64 lower-case hex>`. */
export class InvalidDigestError extends CacheError {
  constructor(digest: string, what = 'digest') {
    super(`${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 lower-case hex>)`, 'INVALID_DIGEST');
  }
}

/** An operation needs a cache entry that is not there. */
export class EntryNotFoundError extends CacheError {
  readonly digest: string;
  constructor(digest: string, action: string) {
    super(`cannot ${action}: the cache holds no complete entry for ${digest}; pull the image first`, 'ENTRY_NOT_FOUND');
    this.digest = digest;
  }
}

/** An entry cannot be removed because a running pull or VM holds it. */
export class EntryHeldError extends CacheError {
  readonly digest: string;
  constructor(digest: string) {
    super(
      `cache entry ${digest} is in use by a running bbox process (pull or VM); stop it and retry, or pass force`,
      'ENTRY_HELD',
    );
    this.digest = digest;
  }
}

/** The pull policy forbids fetching and the image is not in the cache. */
export class ImageNotCachedError extends CacheError {
  readonly ref: string;
  readonly policy: string;
  constructor(ref: string, policy: string) {
    super(
      `image ${ref} is not in the cache and the pull policy is ${policy}; ` +
        `pull it first with \`bbox pull ${ref}\` or use --pull if-not-present`,
      'IMAGE_NOT_CACHED',
    );
    this.ref = ref;
    this.policy = policy;
  }
}

/** The filesystem holding the cache ran out of space (or inodes) while a pull was writing. */
export class CacheFullError extends CacheError {
  constructor(dir: string, cause: unknown) {
    super(
      `no space left on the filesystem holding the cache ${dir}; nothing of this pull was kept. ` +
        'Free space with `bbox cache gc` (or `bbox cache purge`), or use a cache on a larger disk with --cache-dir',
      'CACHE_FULL',
      { cause },
    );
  }
}
