// Pull-through registry caches: one CNCF distribution per upstream registry, started on demand.
export { RegistryCaches, type RegistryCachesOptions, type RegistryCacheStatus, type RunningCache, type PruneEntry, type StopEntry } from './manager.js';
export { registryCacheHook, INSTALL_HINT, type RegistryCacheHook, type RegistryCacheHookOptions } from './mirror-hook.js';
export { CachedRegistryFetcher, withFirstMirror } from './cached-fetcher.js';
export { DEFAULT_UPSTREAMS, parseUpstreamList, type RegistryCacheUpstreams } from './upstreams.js';
export { defaultRegistryCacheRoot } from './layout.js';
export { RegistryCacheError, type RegistryCacheErrorCode } from './errors.js';
export type { HitCounts } from './hit-counts.js';
export { REGISTRY_BINARY } from './binary.js';
