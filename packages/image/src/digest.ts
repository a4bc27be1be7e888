/**
 * The one digest form the cache and the puller accept for manifests, indexes and layers:
 * `sha256:` and 64 lower-case hex digits (the form registries and OCI layouts write).
 */
export const SHA256_DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** True for `sha256:<64 lower-case hex>`. */
export function isSha256Digest(s: unknown): s is string {
  return typeof s === 'string' && SHA256_DIGEST_RE.test(s);
}
