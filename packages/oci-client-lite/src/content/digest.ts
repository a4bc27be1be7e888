import { createHash, type Hash } from 'node:crypto';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `s` is a digest this client can verify (`sha256:<64 hex>` or `sha512:<128 hex>`). */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** The hash algorithm of a digest (`sha256`). */
export function digestAlgorithm(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** A running hash for the algorithm of `digest`. */
export function hasherFor(digest: string): Hash {
  return createHash(digestAlgorithm(digest));
}

/** The digest of `bytes` with the algorithm of `like` (sha256 by default). */
export function digestOf(bytes: Buffer, like = 'sha256:'): string {
  const alg = digestAlgorithm(like);
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}
