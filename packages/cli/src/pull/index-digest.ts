import type { Cache, PullResult } from '@broodbox/image';
import { parseLayoutReference, LAYOUT_PREFIX } from '@broodbox/image';
import { parseReference } from 'oci-client-lite/reference';

/**
 * The index digest behind a pull's platform manifest digest, when the ref named an index (what
 * docker shows as the repo digest): the pinned digest itself, or the index the tag's record saw.
 * Undefined for a single-platform image. One small read of the ref's record.
 */
export async function indexDigestOf(cache: Cache, result: PullResult, platform: string | undefined): Promise<string | undefined> {
  try {
    const ref = result.ref.startsWith(LAYOUT_PREFIX) ? parseLayoutReference(result.ref) : parseReference(result.ref);
    if (ref.digest) return ref.digest !== result.digest ? ref.digest : undefined;
    const record = await cache.refRecord(ref, platform);
    return record && record.digest === result.digest && record.topDigest !== record.digest ? record.topDigest : undefined;
  } catch {
    // Only a report: a record that cannot be read leaves the index digest out.
    return undefined;
  }
}
