import { CacheError } from './cache-errors.js';

/** `Cache.clone` refuses its destination (inside the cache, not empty, not a directory). */
export class CloneDestinationError extends CacheError {
  readonly dest: string;
  constructor(dest: string, detail: string, code: 'CLONE_DEST_IN_CACHE' | 'CLONE_DEST_NOT_EMPTY' | 'CLONE_DEST_INVALID') {
    super(code, `cannot clone into ${dest}: it ${detail}`);
    this.dest = dest;
  }
}

/** Copying a rootfs failed part way; the partial copy was removed. */
export class CloneFailedError extends CacheError {
  readonly dest: string;
  constructor(dest: string, detail: string, options?: { cause?: unknown }) {
    super('CLONE_FAILED', `cloning into ${dest} failed (${detail}); the partial copy was removed: check free space and permissions, then retry`, options);
    this.dest = dest;
  }
}
