import type { Readable } from 'node:stream';
import type { ClientOptions, Descriptor, MirrorConfig, Platform, Reference, ResolvedImage } from 'oci-client-lite';
import { registryEndpointHost } from 'oci-client-lite/reference';
import { RegistryFetcher } from '../pull/registry-fetcher.js';
import type { Fetcher } from '../types.js';
import type { CacheStorage, RegistryCacheHook } from './mirror-hook.js';
import { storageHolds, storedBlobPaths } from './storage-paths.js';
import { teeIntoStorage } from './storage-tee.js';
import { recordStored } from './stored-log.js';

/** `registries` with `mirror` tried before the registry's configured mirrors. */
export function withFirstMirror(registries: ClientOptions['registries'], registry: string, mirror: MirrorConfig): NonNullable<ClientOptions['registries']> {
  const all = registries ?? {};
  const own = all[registry] ?? all['*'] ?? {};
  return { ...all, [registry]: { ...own, mirrors: [mirror, ...(own.mirrors ?? [])] } };
}

/** How one registry is pulled: through its cache, and, for a cache bbox manages, the direct way to fill it. */
interface Route {
  /** Manifests, configs, and blobs the cache holds: the cache first, then the usual endpoints. */
  viaCache: RegistryFetcher;
  fill?: { storage: CacheStorage; direct: RegistryFetcher };
}

/**
 * The options of the fetcher that fills a cache: anonymous (the cache then holds only what anyone
 * may pull, as if it had fetched it itself), from the cache's upstream first when that is not the
 * registry's own endpoint, then the usual endpoints.
 */
export function fillOptions(options: ClientOptions, registry: string, upstreamUrl: string): ClientOptions {
  const own = new URL(upstreamUrl).host === registryEndpointHost(registry);
  const registries = own ? options.registries : withFirstMirror(options.registries, registry, { url: upstreamUrl });
  return { ...options, anonymous: true, ...(registries ? { registries } : {}) };
}

/**
 * The registry fetcher with a registry cache in front: on the first request to a registry it asks
 * the hook for that registry's cache (which may start it), then pulls through it with the usual
 * fallback. A pull answered from the image cache never asks, so never starts anything.
 *
 * For a cache whose storage bbox manages, a layer the storage does not hold yet is fetched from the
 * upstream directly, in one stream, verified as always, and stored into the cache as it flows
 * (see storage-tee.ts); the next pull of it is served by the cache without the upstream. A direct
 * fetch that cannot start (the blob is not public, the upstream is not reachable from here) falls
 * back to the cache.
 */
export class CachedRegistryFetcher implements Fetcher {
  private readonly routes = new Map<string, Promise<Route>>();

  constructor(
    private readonly options: ClientOptions,
    private readonly hook: RegistryCacheHook,
  ) {}

  private routeFor(ref: Reference): Promise<Route> {
    let r = this.routes.get(ref.registry);
    if (!r) {
      r = this.hook.mirrorFor(ref.registry).then((cache): Route => {
        if (!cache) return { viaCache: new RegistryFetcher(this.options) };
        const viaCache = new RegistryFetcher({ ...this.options, registries: withFirstMirror(this.options.registries, ref.registry, cache.mirror) });
        if (!cache.storage) return { viaCache };
        return { viaCache, fill: { storage: cache.storage, direct: new RegistryFetcher(fillOptions(this.options, ref.registry, cache.storage.upstreamUrl)) } };
      });
      this.routes.set(ref.registry, r);
    }
    return r;
  }

  async head(ref: Reference, opts: { signal?: AbortSignal }): Promise<{ digest: string; mediaType: string }> {
    return (await this.routeFor(ref)).viaCache.head(ref, opts);
  }

  async resolve(ref: Reference, opts: { platform: Platform; signal?: AbortSignal }): Promise<ResolvedImage> {
    return (await this.routeFor(ref)).viaCache.resolve(ref, opts);
  }

  async openLayer(ref: Reference, desc: Descriptor, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<Readable> {
    const route = await this.routeFor(ref);
    const filled = route.fill && (await this.openFilling(route.fill, ref, desc, opts));
    return filled ?? route.viaCache.openLayer(ref, desc, opts);
  }

  /** The layer from the upstream, stored into the cache as it flows; undefined when the cache holds it or the upstream cannot serve it. */
  private async openFilling(fill: NonNullable<Route['fill']>, ref: Reference, desc: Descriptor, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<Readable | undefined> {
    const { dataDir, storedLog } = fill.storage;
    const paths = storedBlobPaths(dataDir, ref.repository, desc.digest);
    if (!paths || (await storageHolds(paths, desc.size))) return undefined;
    let source: Readable;
    try {
      source = await fill.direct.openLayer(ref, desc, opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      return undefined;
    }
    return teeIntoStorage(source, {
      dataDir,
      paths,
      onStored: () => recordStored(storedLog, { at: new Date().toISOString(), repository: ref.repository, digest: desc.digest, size: desc.size }),
    });
  }
}
