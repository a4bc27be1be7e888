import { ImageError, type ImageErrorCode, type ImageErrorOptions } from './image-error.js';

/** An error raised while pulling an image (its source, its shape, what it resolved to). */
export class PullError extends ImageError {
  constructor(code: ImageErrorCode, message: string, options?: ImageErrorOptions) {
    super(code, message, options);
  }
}

/** A local OCI image layout is missing, unreadable or damaged. */
export class LayoutError extends PullError {
  constructor(message: string, code: 'LAYOUT_INVALID' | 'MANIFEST_UNKNOWN' | 'DIGEST_MISMATCH' | 'SIZE_MISMATCH' = 'LAYOUT_INVALID') {
    super(code, message);
  }
}

/** The image uses a layer media type bbox cannot turn into files. */
export class UnsupportedLayerError extends PullError {
  constructor(message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', message);
  }
}

/** The image's manifest and config disagree, or a limit on their shape is exceeded. */
export class InvalidImageError extends PullError {
  constructor(message: string) {
    super('INVALID_IMAGE', message);
  }
}

/** What a pull produced is not what a pin or an expected digest asked for. */
export class PinnedDigestMismatchError extends PullError {
  constructor(ref: string, expected: string, got: string) {
    super('DIGEST_MISMATCH', `${ref} resolved to ${got}, not the expected ${expected}; the image was not used`);
  }
}
