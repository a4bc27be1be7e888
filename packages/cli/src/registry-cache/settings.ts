import type { ConfigLayer } from '../config/config-files.js';
import type { RegistryCacheConfig } from '../config/config-schema.js';
import { displayPath } from '../output/display-path.js';
import type { Sourced } from '../config/settings.js';

/** How the default pull-through caches are set up for one command. */
export interface RegistryCacheSettings {
  /** False: no cache is started or used, no file written (`--no-registry-cache`, the env, `registryCache: false`). */
  enabled: Sourced<boolean>;
  /** `BBOX_REGISTRY_CACHE_UPSTREAMS` as given (parsed when a cache is needed), else undefined. */
  upstreamsEnv: string | undefined;
  /** `registryCache.upstreams` from config, else undefined (the default list). */
  upstreams: Record<string, string> | undefined;
  useWhenLoggedIn: boolean;
  /** `BBOX_REGISTRY_CACHE_BIN`: the docker-registry to run instead of the one on PATH. */
  binary: string | undefined;
}

function enabledFrom(layers: ConfigLayer[]): Sourced<boolean> | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const v = layers[i]!.config.registryCache?.enabled;
    if (v !== undefined) return { value: v, source: displayPath(layers[i]!.file) };
  }
  return undefined;
}

/**
 * The registry-cache settings: `--no-registry-cache` and `BBOX_DISABLE_REGISTRY_CACHE` (which also
 * bypass configured mirrors) turn the caches off, else `registryCache` from config, else on.
 */
export function resolveRegistryCache(noRegistryCache: Sourced<boolean>, env: NodeJS.ProcessEnv, merged: RegistryCacheConfig | undefined, layers: ConfigLayer[]): RegistryCacheSettings {
  const enabled = noRegistryCache.value ? { value: false, source: noRegistryCache.source } : (enabledFrom(layers) ?? { value: true, source: 'default' });
  const bin = env.BBOX_REGISTRY_CACHE_BIN;
  return {
    enabled,
    upstreamsEnv: env.BBOX_REGISTRY_CACHE_UPSTREAMS,
    upstreams: merged?.upstreams,
    useWhenLoggedIn: merged?.useWhenLoggedIn ?? false,
    binary: bin === undefined || bin.trim() === '' ? undefined : bin,
  };
}
