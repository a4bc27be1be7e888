/**
 * Errors raised while extracting a layer or composing a rootfs. Each carries a stable `code`
 * so callers can tell a hostile or corrupt layer from an I/O failure.
 */

/** The uncompressed layer does not hash to the diffID the image config lists. */
export class DiffIDMismatchError extends Error {
  readonly code = 'DIFFID_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `layer content does not match its diffID: the image config lists ${expected} but the uncompressed ` +
        `layer hashes to ${actual}; the image is corrupt or was tampered with, pull it again or report it to its publisher`,
    );
    this.name = 'DiffIDMismatchError';
  }
}

/** An entry name or hardlink target climbs above the layer root with `..`. */
export class LayerPathEscapeError extends Error {
  readonly code = 'LAYER_PATH_ESCAPE';
  constructor(readonly entryPath: string) {
    super(
      `layer entry ${JSON.stringify(entryPath)} leads outside the image root; the layer is refused ` +
        `(a well-formed image never contains such a path)`,
    );
    this.name = 'LayerPathEscapeError';
  }
}

/** A layer has more entries than the configured limit. */
export class LayerEntryLimitError extends Error {
  readonly code = 'LAYER_ENTRY_LIMIT';
  constructor(readonly limit: number) {
    super(`layer has more than ${limit} entries; raise the entry limit (maxEntries) if the image is trusted`);
    this.name = 'LayerEntryLimitError';
  }
}

/** The uncompressed layers of an image exceed the configured byte budget. */
export class LayerByteLimitError extends Error {
  readonly code = 'LAYER_BYTE_LIMIT';
  constructor(readonly limit: number) {
    super(
      `image layers expand to more than ${limit} bytes uncompressed; raise the size limit (maxBytes) ` +
        `if the image is trusted`,
    );
    this.name = 'LayerByteLimitError';
  }
}

/** The layer is not a well-formed tar archive, or holds an entry this engine refuses. */
export class LayerFormatError extends Error {
  readonly code = 'LAYER_BAD_TAR';
  constructor(message: string) {
    super(`malformed layer: ${message}`);
    this.name = 'LayerFormatError';
  }
}

/** The compressed layer stream could not be decompressed. */
export class LayerDecompressError extends Error {
  readonly code = 'LAYER_DECOMPRESS';
  constructor(
    readonly compression: string,
    cause: unknown,
  ) {
    super(
      `layer could not be decompressed as ${compression}: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        `the blob is corrupt or its media type is wrong`,
      { cause },
    );
    this.name = 'LayerDecompressError';
  }
}

/** Why two layers cannot be stacked. */
export type LayerConflictReason = 'hardlink-target' | 'not-a-directory' | 'symlink-loop';

/** Applying a layer on top of the lower ones is impossible (dangling hardlink, file used as a directory, symlink loop). */
export class LayerConflictError extends Error {
  readonly code = 'LAYER_CONFLICT';
  constructor(
    readonly reason: LayerConflictReason,
    readonly entryPath: string,
    readonly layer: number,
    detail: string,
  ) {
    super(`layer ${layer} cannot be applied at ${JSON.stringify(entryPath)}: ${detail}`);
    this.name = 'LayerConflictError';
  }
}
