import { ImageError, type ImageErrorCode } from '../errors/image-error.js';

/** The codes of {@link RegistryCacheError}. */
export type RegistryCacheErrorCode = Extract<ImageErrorCode, `REGISTRY_CACHE_${string}`>;

/** A registry cache could not be started, found or stopped. A pull never fails for it: it goes direct. */
export class RegistryCacheError extends ImageError {
  declare readonly code: RegistryCacheErrorCode;
  constructor(code: RegistryCacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options?.cause === undefined ? {} : { cause: options.cause });
  }
}
