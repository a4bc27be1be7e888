import type { Readable } from 'node:stream';
import type { ClientOptions, Descriptor, Platform, Reference, RegistryClient, ResolvedImage } from 'oci-client-lite';
import type { Fetcher } from '../types.js';

/**
 * The default fetcher: a registry through `oci-client-lite`, with its mirrors, auth and retries.
 * Every byte it hands out has been (or, for streams, is being) verified against its digest.
 *
 * The client is loaded on first use: a pull answered from the cache never pays for it.
 */
export class RegistryFetcher implements Fetcher {
  private clientPromise: Promise<RegistryClient> | undefined;

  constructor(private readonly options: ClientOptions | RegistryClient = {}) {}

  /** The underlying client (created on first call). */
  client(): Promise<RegistryClient> {
    this.clientPromise ??= isClient(this.options)
      ? Promise.resolve(this.options)
      : import('oci-client-lite').then((m) => new m.RegistryClient(this.options as ClientOptions));
    return this.clientPromise;
  }

  async head(ref: Reference, opts: { signal?: AbortSignal }): Promise<{ digest: string; mediaType: string }> {
    const h = await (await this.client()).head(ref, opts);
    return { digest: h.digest, mediaType: h.mediaType };
  }

  async resolve(ref: Reference, opts: { platform: Platform; signal?: AbortSignal }): Promise<ResolvedImage> {
    return (await this.client()).resolve(ref, opts);
  }

  async openLayer(
    ref: Reference,
    desc: Descriptor,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<Readable> {
    return (await this.client()).openBlob(ref, desc, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: { done: number; total: number }) => opts.onProgress?.(p.done, p.total) } : {}),
    });
  }
}

function isClient(x: ClientOptions | RegistryClient): x is RegistryClient {
  return typeof (x as RegistryClient).openBlob === 'function';
}
