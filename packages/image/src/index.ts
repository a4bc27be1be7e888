/**
 * @broodbox/image: turn OCI image references into ready-to-boot rootfs directories through a
 * content-addressed cache, under pull policies.
 *
 * @packageDocumentation
 */
export * from './types.js';
export { ImageError, type ImageErrorCode, type ImageErrorRemedy, type ImageErrorOptions } from './image-error.js';
export { pullWithFetcher, type PullOptions, type PullResult, type PullStats } from './pull.js';
export { Cache, type CacheOptions, type CacheListing, type PlatformLike } from './cache.js';
export type { EntryInfo } from './cache-inventory.js';
export type { CleanupReport, RemovedItem, SkippedItem } from './cleanup-report.js';
export type { GcOptions } from './gc.js';
export type { EvictOptions } from './evict.js';
export type { PurgeOptions } from './purge.js';
export type { RefRecord } from './ref-index.js';
export type { EntryMeta, PublishMeta, EntryLayer } from './entry-meta.js';
export type { HeldLock, LockOptions, LockRelease, LockTakeover } from './lock.js';
export { defaultCacheDir, LAYOUT_VERSION } from './cache-layout.js';
export type { VerifyOptions, VerifyReport, EntryVerdict } from './verify.js';
export type { LayerVerdict } from './layer-verify.js';
export type { VerifyProblem, VerifyField } from './verify-problems.js';
export type { CloneOptions, CloneResult } from './clone.js';
export { CloneDestinationError, CloneFailedError, EntryDamagedError } from './integrity-errors.js';
export {
  CacheError,
  CacheCorruptError,
  CacheDirError,
  CacheVersionError,
  CacheLockedError,
  InvalidDigestError,
  EntryNotFoundError,
  EntryHeldError,
  ImageNotCachedError,
  CacheFullError,
} from './cache-errors.js';
export {
  parsePullPolicy,
  formatPullPolicy,
  InvalidPullPolicyError,
  PULL_POLICY_VALUES,
  PULL_POLICY_ALIASES,
} from './policy.js';
export { parseDuration, formatDuration, InvalidDurationError } from './duration.js';
export { RegistryFetcher } from './registry-fetcher.js';
export { LayoutFetcher, parseLayoutReference, formatLayoutReference, LAYOUT_PREFIX } from './layout-fetcher.js';
export { PullError, LayoutError, UnsupportedLayerError, InvalidImageError, PinnedDigestMismatchError } from './pull-errors.js';
export {
  LayerError,
  type LayerErrorContext,
  DiffIDMismatchError,
  LayerPathEscapeError,
  LayerEntryLimitError,
  LayerByteLimitError,
  LayerFormatError,
  LayerDecompressError,
  LayerConflictError,
  StoreWriteError,
  MaterialiseError,
  type LayerConflictReason,
} from './layer-errors.js';
export { DEFAULT_LIMITS, XATTR_LIMITS, resolveExtractLimits } from './limits.js';
export { LayerXattrError, XattrApplyError, type LayerXattrErrorCode } from './xattr-errors.js';
// The layer engine (extractLayer, composeRootfs, the store index) is exported from
// '@broodbox/image/layers': it pulls in tar and zstd, which a cached pull never needs.
