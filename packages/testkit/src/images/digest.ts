import { createHash } from 'node:crypto';

/** `sha256:<hex>` of `data`. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
