import type { RegistryCaches } from '@broodbox/image/registry-cache';
import { ConfigError } from '../output/errors.js';
import type { Settings } from '../config/settings.js';

/** The user's registry caches as the settings describe them (the library loaded on demand). */
export async function openRegistryCaches(settings: Settings, env: NodeJS.ProcessEnv): Promise<RegistryCaches> {
  const lib = await import('@broodbox/image/registry-cache');
  const rc = settings.registryCache;
  let upstreams = rc.upstreams;
  if (rc.upstreamsEnv !== undefined) {
    try {
      upstreams = lib.parseUpstreamList(rc.upstreamsEnv);
    } catch (err) {
      throw new ConfigError(`BBOX_REGISTRY_CACHE_UPSTREAMS: ${(err as Error).message}`, 'write name=url pairs separated by commas, or leave it empty for no caches');
    }
  }
  return new lib.RegistryCaches({ env, ...(upstreams ? { upstreams } : {}), ...(rc.binary ? { binary: rc.binary } : {}) });
}
