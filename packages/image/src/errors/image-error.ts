/**
 * Every `code` an error of @broodbox/image carries. Stable: programs (the bbox CLI among them)
 * switch on it, so a new code is a new member here and a type error in an exhaustive map.
 */
export type ImageErrorCode =
  // The cache directory and its files.
  | 'CACHE_CORRUPT'
  | 'CACHE_DIR_INVALID'
  | 'CACHE_VERSION_UNSUPPORTED'
  | 'CACHE_LOCKED'
  | 'CACHE_FULL'
  | 'INVALID_DIGEST'
  | 'INVALID_ARTIFACT_NAME'
  | 'NOT_A_TMP_DIR'
  | 'NOTHING_TO_PUBLISH'
  // Cache entries.
  | 'ENTRY_NOT_FOUND'
  | 'ENTRY_HELD'
  | 'ENTRY_DAMAGED'
  | 'IMAGE_NOT_CACHED'
  // Naming cached images (refs, digests and their prefixes).
  | 'IMAGE_NOT_FOUND'
  | 'DIGEST_AMBIGUOUS'
  | 'ENTRY_SHARED'
  | 'CLONE_DEST_IN_CACHE'
  | 'CLONE_DEST_NOT_EMPTY'
  | 'CLONE_DEST_INVALID'
  | 'CLONE_FAILED'
  // Pulling: options, sources, image shape.
  | 'INVALID_PULL_POLICY'
  | 'INVALID_DURATION'
  | 'LAYOUT_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_IMAGE'
  // Layers: content, shape, limits, extended attributes, writing them out.
  | 'DIFFID_MISMATCH'
  | 'LAYER_PATH_ESCAPE'
  | 'LAYER_ENTRY_LIMIT'
  | 'LAYER_BYTE_LIMIT'
  | 'LAYER_BAD_TAR'
  | 'LAYER_DECOMPRESS'
  | 'LAYER_CONFLICT'
  | 'LAYER_XATTR_INVALID'
  | 'LAYER_XATTR_TOO_LARGE'
  | 'XATTR_APPLY_FAILED'
  | 'STORE_WRITE_FAILED'
  | 'STORE_WRITER_STOPPED'
  | 'ROOTFS_WRITE_FAILED'
  // Pull-through registry caches (a pull never fails for them: it goes direct).
  | 'REGISTRY_CACHE_NO_BINARY'
  | 'REGISTRY_CACHE_START_FAILED'
  | 'REGISTRY_CACHE_STOP_FAILED'
  | 'REGISTRY_CACHE_UNKNOWN_UPSTREAM'
  | 'REGISTRY_CACHE_BAD_UPSTREAM';

/**
 * What would clear an error, for a caller that words its own advice (the library's messages state
 * facts, not commands of a particular front end):
 * - `repair`: verify the cache with repair (removes what is damaged), then pull again;
 * - `free-space`: collect garbage, evict or purge the cache, or use a cache on a larger disk;
 * - `pull-first`: pull the image under a policy that may fetch it;
 * - `other-cache`: use another cache directory (or a version of this library that reads it).
 */
export type ImageErrorRemedy = 'repair' | 'free-space' | 'pull-first' | 'other-cache';

/** Options of {@link ImageError}. */
export interface ImageErrorOptions {
  cause?: unknown;
  remedy?: ImageErrorRemedy;
}

/**
 * Base class of every error @broodbox/image raises on purpose: `code` says what went wrong (one
 * of {@link ImageErrorCode}), the message says it in words with the paths and digests involved.
 * Errors of Node (errno codes) and of oci-client-lite (`OciError`) pass through unchanged.
 */
export class ImageError extends Error {
  readonly code: ImageErrorCode;
  /** What would clear the error, when one action does. */
  readonly remedy: ImageErrorRemedy | undefined;
  constructor(code: ImageErrorCode, message: string, options: ImageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.remedy = options.remedy;
  }
}
