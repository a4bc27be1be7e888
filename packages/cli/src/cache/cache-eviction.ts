import type { Cache } from '@broodbox/image';
import type { Settings } from '../config/settings.js';

/**
 * Applies `cache.maxAge` / `cache.maxBytes` after a command has used the cache: least recently
 * used entries go first, and what the command itself uses (`keep`) is never evicted. A failed
 * eviction is a warning: the command's own work succeeded.
 */
export async function evictAfterUse(cache: Cache, settings: Settings, keep: string[], warn: (m: string) => void): Promise<void> {
  if (settings.cacheMaxAge === undefined && settings.cacheMaxBytes === undefined) return;
  try {
    await cache.evict({
      ...(settings.cacheMaxAge !== undefined ? { maxAge: settings.cacheMaxAge } : {}),
      ...(settings.cacheMaxBytes !== undefined ? { maxBytes: settings.cacheMaxBytes } : {}),
      keep,
    });
  } catch (err) {
    warn(`automatic cache eviction failed (cache.maxAge/cache.maxBytes): ${(err as Error).message}`);
  }
}
