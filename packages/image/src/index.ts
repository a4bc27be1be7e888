/**
 * @broodbox/image: turn OCI image references into ready-to-boot rootfs directories through a
 * content-addressed cache, under pull policies.
 *
 * @packageDocumentation
 */
export * from './types.js';
export { ImageError, type ImageErrorCode, type ImageErrorRemedy, type ImageErrorOptions } from './errors/image-error.js';
export { pullWithFetcher, type PullOptions, type PullResult, type PullStats } from './pull/pull.js';
export { Cache, type CacheOptions, type CacheListing, type PlatformLike } from './cache/cache.js';
export type { EntryInfo } from './cache/inventory.js';
export type { CleanupReport, RemovedItem, SkippedItem } from './cleanup/report.js';
export type { GcOptions } from './cleanup/gc.js';
export type { EvictOptions } from './cleanup/evict.js';
export type { PurgeOptions } from './cleanup/purge.js';
export type { RefRecord } from './cache/ref-index.js';
export type { EntryMeta, PublishMeta, EntryLayer } from './cache/entry-meta.js';
export type { HeldLock, LockOptions, LockRelease, LockTakeover } from './cache/lock.js';
export { lockNames } from './cache/lock-names.js';
export { defaultCacheDir, LAYOUT_VERSION } from './cache/layout.js';
export type { VerifyOptions, VerifyReport, EntryVerdict } from './verify/verify.js';
export type { LayerVerdict } from './verify/layer-verify.js';
export type { VerifyProblem, VerifyField } from './verify/problems.js';
export type { CloneOptions, CloneResult } from './cache/clone.js';
export { CloneDestinationError, CloneFailedError } from './errors/clone-errors.js';
export { type ImageOwners, type ImageOwnersOptions, type OwnedPath } from './compose/image-owners.js';
export {
  CacheError,
  CacheCorruptError,
  CacheDirError,
  CacheOwnerError,
  CacheVersionError,
  CacheLockedError,
  InvalidDigestError,
  EntryNotFoundError,
  EntryHeldError,
  ImageNotCachedError,
  CacheFullError,
  EntryDamagedError,
} from './errors/cache-errors.js';
export {
  parsePullPolicy,
  formatPullPolicy,
  InvalidPullPolicyError,
  PULL_POLICY_VALUES,
  PULL_POLICY_KINDS,
  PULL_POLICY_ALIASES,
} from './pull/policy.js';
export { parseDuration, formatDuration, InvalidDurationError, DURATION_FORMS } from './pull/duration.js';
export { isSha256Digest, SHA256_DIGEST_RE } from './digest.js';
export { RegistryFetcher } from './pull/registry-fetcher.js';
export { LayoutFetcher, parseLayoutReference, formatLayoutReference, LAYOUT_PREFIX } from './pull/layout-fetcher.js';
export { PullError, LayoutError, UnsupportedLayerError, InvalidImageError, PinnedDigestMismatchError } from './errors/pull-errors.js';
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
} from './errors/layer-errors.js';
export { DEFAULT_LIMITS, XATTR_LIMITS, resolveExtractLimits } from './layers/limits.js';
export { LayerXattrError, XattrApplyError, type LayerXattrErrorCode } from './errors/xattr-errors.js';
// The layer engine (extractLayer, composeRootfs, the store index) is exported from
// '@broodbox/image/layers': it pulls in tar and zstd, which a cached pull never needs.
export { listImages, type ImageRow, type ListImagesOptions } from './cache/images.js';
export { resolveDigest, locateImage, MIN_DIGEST_PREFIX, type LocatedImage } from './cache/image-select.js';
export { removeImage, type RemoveImageOptions, type RemoveImageReport } from './cleanup/remove-images.js';
export {
  inspectImage,
  inspectRemote,
  type ImageInspection,
  type InspectedConfig,
  type InspectedLayer,
  type InspectImageOptions,
  type InspectRemoteOptions,
} from './inspect/inspect.js';
export { exportRootfs, type ExportOptions } from './export/export-rootfs.js';
export { ImageNotFoundError, DigestAmbiguousError, EntrySharedError, ImageHeldError, type EntryHolder } from './errors/selection-errors.js';
export { ExportSourceDamagedError } from './errors/export-errors.js';
