/**
 * Errors raised while extracting a layer or composing a rootfs. Each carries a stable `code`
 * so callers can tell a hostile or corrupt layer from an I/O failure, and, once the puller has
 * placed it, the layer's digest and the image it belongs to.
 */
import { ImageError, type ImageErrorCode, type ImageErrorOptions } from './image-error.js';

/** Where in a pull a layer error happened. */
export interface LayerErrorContext {
  /** The layer blob's digest (`sha256:…`, as in the manifest). */
  layer: string;
  /** The image: its reference as pulled. */
  image: string;
}

/** Base of the layer errors. `layer` and `image` are set when the error is known to come from a pull. */
export class LayerError extends ImageError {
  layer: string | undefined;
  image: string | undefined;
  constructor(code: ImageErrorCode, message: string, options?: ImageErrorOptions) {
    super(code, message, options);
  }

  /** Names the layer and the image in the error (first caller wins); returns the error. */
  locate(ctx: LayerErrorContext): this {
    if (this.layer === undefined) {
      this.layer = ctx.layer;
      this.image = ctx.image;
      this.message = `layer ${ctx.layer} of ${ctx.image}: ${this.message}`;
    }
    return this;
  }
}

/** The uncompressed layer does not hash to the diffID the image config lists. */
export class DiffIDMismatchError extends LayerError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      'DIFFID_MISMATCH',
      `layer content does not match its diffID: the image config lists ${expected} but the uncompressed ` +
        `layer hashes to ${actual}; the image is corrupt or was tampered with, pull it again or report it to its publisher`,
    );
  }
}

/** An entry name or hardlink target climbs above the layer root with `..`. */
export class LayerPathEscapeError extends LayerError {
  constructor(readonly entryPath: string) {
    super(
      'LAYER_PATH_ESCAPE',
      `layer entry ${JSON.stringify(entryPath)} leads outside the image root; the layer is refused ` +
        `(a well-formed image never contains such a path)`,
    );
  }
}

/** A layer has more entries than the configured limit. */
export class LayerEntryLimitError extends LayerError {
  constructor(readonly limit: number) {
    super('LAYER_ENTRY_LIMIT', `layer has more than ${limit} entries; raise the entry limit (maxEntries) if the image is trusted`);
  }
}

/** The uncompressed layers of an image exceed the configured byte budget. */
export class LayerByteLimitError extends LayerError {
  constructor(readonly limit: number) {
    super(
      'LAYER_BYTE_LIMIT',
      `image layers expand to more than ${limit} bytes uncompressed; raise the size limit (maxBytes) if the image is trusted`,
    );
  }
}

/** The layer is not a well-formed tar archive, or holds an entry this engine refuses. */
export class LayerFormatError extends LayerError {
  constructor(message: string) {
    super('LAYER_BAD_TAR', `malformed layer: ${message}`);
  }
}

/** The compressed layer stream could not be decompressed. */
export class LayerDecompressError extends LayerError {
  constructor(
    readonly compression: string,
    cause: unknown,
  ) {
    super(
      'LAYER_DECOMPRESS',
      `layer could not be decompressed as ${compression}: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        `the blob is corrupt or its media type is wrong`,
      { cause },
    );
  }
}

/** Why two layers cannot be stacked. */
export type LayerConflictReason = 'hardlink-target' | 'not-a-directory' | 'symlink-loop';

/** Applying a layer on top of the lower ones is impossible (dangling hardlink, file used as a directory, symlink loop). */
export class LayerConflictError extends LayerError {
  constructor(
    readonly reason: LayerConflictReason,
    readonly entryPath: string,
    /** Position of the layer in the image, 0 at the bottom. */
    readonly layerIndex: number,
    detail: string,
  ) {
    super('LAYER_CONFLICT', `layer ${layerIndex} cannot be applied at ${JSON.stringify(entryPath)}: ${detail}`);
  }
}

/** An error the layer store's writer thread met, with its errno code in `errno`. */
export class StoreWriteError extends LayerError {
  readonly errno: string | undefined;
  constructor(message: string, errno: string | undefined, code: 'STORE_WRITE_FAILED' | 'STORE_WRITER_STOPPED' = 'STORE_WRITE_FAILED') {
    super(code, `writing the layer store failed: ${message}`);
    this.errno = errno;
  }
}

/** An error met while making a rootfs tree on disk, with its errno code in `errno`. */
export class MaterialiseError extends LayerError {
  readonly errno: string | undefined;
  constructor(message: string, errno: string | undefined) {
    super('ROOTFS_WRITE_FAILED', `making the rootfs failed: ${message}`);
    this.errno = errno;
  }
}
