import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestkitError } from '../errors.js';

/** Raised when a digest is not a `sha256:<64 hex>` string. */
export class BadDigestError extends TestkitError<'BAD_DIGEST'> {
  constructor(digest: string) {
    super('BAD_DIGEST', `not a sha256 digest: ${JSON.stringify(digest)}; pass "sha256:<64 hex>"`);
  }
}

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new BadDigestError(digest);
  return m[1];
}

/** Where distribution's filesystem driver keeps a blob: `docker/registry/v2/blobs/sha256/<2>/<hex>/data`. */
export function blobDataPath(dataDir: string, digest: string): string {
  const hex = hexOf(digest);
  return join(dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/**
 * Flips every bit of one byte of a stored blob (same size, so only a digest check notices).
 * `offset` defaults to the middle of the blob. Returns the offset changed.
 */
export async function tamperBlob(dataDir: string, digest: string, offset?: number): Promise<number> {
  const file = blobDataPath(dataDir, digest);
  const { size } = await stat(file);
  const at = offset ?? Math.floor(size / 2);
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
  return at;
}

/** Replaces a stored blob's bytes outright (any size), e.g. to serve a truncated blob. */
export async function replaceBlob(dataDir: string, digest: string, data: Buffer): Promise<void> {
  await writeFile(blobDataPath(dataDir, digest), data);
}
