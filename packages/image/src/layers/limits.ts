import type { ExtractLimits } from '../types.js';

/** Defaults: 30 GiB of uncompressed layers per image, one million entries per layer. */
export const DEFAULT_LIMITS: Readonly<ExtractLimits> = Object.freeze({
  maxBytes: 30 * 1024 ** 3,
  maxEntries: 1_000_000,
});

/** Fills unset limits with the defaults and rejects values that are not positive integers. */
export function resolveExtractLimits(partial: Partial<ExtractLimits> = {}): ExtractLimits {
  const out = { ...DEFAULT_LIMITS, ...stripUndefined(partial) };
  for (const key of ['maxBytes', 'maxEntries'] as const) {
    const v = out[key];
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new RangeError(`extract limit ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Bounds on extended attributes, fixed (not options): a name and a value as large as Linux
 * accepts (XATTR_NAME_MAX, XATTR_SIZE_MAX), all of one entry's names and values within one
 * value's size, and all of one layer's within 16 MiB (they are kept in the layer index).
 */
export const XATTR_LIMITS = Object.freeze({
  nameBytes: 255,
  valueBytes: 64 * 1024,
  entryBytes: 64 * 1024,
  layerBytes: 16 * 1024 * 1024,
});
