/** Base class of the errors raised while pulling an image; `code` is stable for programs. */
export class PullError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A local OCI image layout is missing, unreadable or damaged. */
export class LayoutError extends PullError {
  constructor(message: string, code = 'LAYOUT_INVALID') {
    super(message, code);
  }
}

/** The image uses a layer media type bbox cannot turn into files. */
export class UnsupportedLayerError extends PullError {
  constructor(message: string) {
    super(message, 'UNSUPPORTED_MEDIA_TYPE');
  }
}

/** The image's manifest and config disagree, or a limit on their shape is exceeded. */
export class InvalidImageError extends PullError {
  constructor(message: string) {
    super(message, 'INVALID_IMAGE');
  }
}

/** What a pull produced is not what a pin or an expected digest asked for. */
export class PinnedDigestMismatchError extends PullError {
  constructor(ref: string, expected: string, got: string) {
    super(`${ref} resolved to ${got}, not the expected ${expected}; the image was not used`, 'DIGEST_MISMATCH');
  }
}
