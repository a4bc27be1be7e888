/** Why a layer's extended attributes were refused. */
export type LayerXattrErrorCode = 'LAYER_XATTR_INVALID' | 'LAYER_XATTR_TOO_LARGE';

/**
 * A layer carries an extended attribute that is malformed (a bad name, a broken PAX record or
 * encoding) or larger than the limits. The layer is refused and nothing is published.
 */
export class LayerXattrError extends Error {
  constructor(
    readonly code: LayerXattrErrorCode,
    detail: string,
  ) {
    super(`${detail}; the layer is refused (a well-formed image never carries such an extended attribute)`);
    this.name = 'LayerXattrError';
  }
}

/** `setfattr` could not give stored files the extended attributes their layer records. */
export class XattrApplyError extends Error {
  readonly code = 'XATTR_APPLY_FAILED';
  constructor(detail: string) {
    super(`setting extended attributes failed: ${detail}; check that the cache file system supports them (ext4, xfs, btrfs do)`);
    this.name = 'XattrApplyError';
  }
}
