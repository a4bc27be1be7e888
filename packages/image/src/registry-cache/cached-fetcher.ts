import type { Readable } from 'node:stream';
import type { ClientOptions, Descriptor, MirrorConfig, Platform, Reference, ResolvedImage } from 'oci-client-lite';
import { RegistryFetcher } from '../pull/registry-fetcher.js';
import type { Fetcher } from '../types.js';
import type { RegistryCacheHook } from './mirror-hook.js';

/** `registries` with `mirror` tried before the registry's configured mirrors. */
export function withFirstMirror(registries: ClientOptions['registries'], registry: string, mirror: MirrorConfig): NonNullable<ClientOptions['registries']> {
  const all = registries ?? {};
  const own = all[registry] ?? all['*'] ?? {};
  return { ...all, [registry]: { ...own, mirrors: [mirror, ...(own.mirrors ?? [])] } };
}

/**
 * The registry fetcher with a registry cache in front: on the first request to a registry it asks
 * the hook for that registry's cache (which may start it), then pulls through it with the usual
 * fallback. A pull answered from the image cache never asks, so never starts anything.
 */
export class CachedRegistryFetcher implements Fetcher {
  private readonly inner = new Map<string, Promise<RegistryFetcher>>();

  constructor(
    private readonly options: ClientOptions,
    private readonly hook: RegistryCacheHook,
  ) {}

  private fetcherFor(ref: Reference): Promise<RegistryFetcher> {
    let f = this.inner.get(ref.registry);
    if (!f) {
      f = this.hook.mirrorFor(ref.registry).then((mirror) =>
        new RegistryFetcher(mirror ? { ...this.options, registries: withFirstMirror(this.options.registries, ref.registry, mirror) } : this.options),
      );
      this.inner.set(ref.registry, f);
    }
    return f;
  }

  async head(ref: Reference, opts: { signal?: AbortSignal }): Promise<{ digest: string; mediaType: string }> {
    return (await this.fetcherFor(ref)).head(ref, opts);
  }

  async resolve(ref: Reference, opts: { platform: Platform; signal?: AbortSignal }): Promise<ResolvedImage> {
    return (await this.fetcherFor(ref)).resolve(ref, opts);
  }

  async openLayer(ref: Reference, desc: Descriptor, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<Readable> {
    return (await this.fetcherFor(ref)).openLayer(ref, desc, opts);
  }
}
