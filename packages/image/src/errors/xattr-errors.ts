import { LayerError } from './layer-errors.js';

/** Why a layer's extended attributes were refused. */
export type LayerXattrErrorCode = 'LAYER_XATTR_INVALID' | 'LAYER_XATTR_TOO_LARGE';

/**
 * A layer carries an extended attribute that is malformed (a bad name, a broken PAX record or
 * encoding) or larger than the limits. The layer is refused and nothing is published.
 */
export class LayerXattrError extends LayerError {
  declare readonly code: LayerXattrErrorCode;
  constructor(code: LayerXattrErrorCode, detail: string) {
    super(code, `${detail}; the layer is refused (a well-formed image never carries such an extended attribute)`);
  }
}

/** `setfattr` could not give stored files the extended attributes their layer records. */
export class XattrApplyError extends LayerError {
  constructor(detail: string) {
    super('XATTR_APPLY_FAILED', `setting extended attributes failed: ${detail}; check that the cache file system supports them (ext4, xfs, btrfs do)`);
  }
}
