import type { Readable } from 'node:stream';
import { RegistryClient, type ClientOptions, type Descriptor, type Platform, type Reference, type ResolvedImage } from 'oci-client-lite';
import type { Fetcher } from './types.js';

/**
 * The default fetcher: a registry through `oci-client-lite`, with its mirrors, auth and retries.
 * Every byte it hands out has been (or, for streams, is being) verified against its digest.
 */
export class RegistryFetcher implements Fetcher {
  readonly client: RegistryClient;

  constructor(options: ClientOptions | RegistryClient = {}) {
    this.client = options instanceof RegistryClient ? options : new RegistryClient(options);
  }

  async head(ref: Reference, opts: { signal?: AbortSignal }): Promise<{ digest: string; mediaType: string }> {
    const h = await this.client.head(ref, opts);
    return { digest: h.digest, mediaType: h.mediaType };
  }

  resolve(ref: Reference, opts: { platform: Platform; signal?: AbortSignal }): Promise<ResolvedImage> {
    return this.client.resolve(ref, opts);
  }

  openLayer(
    ref: Reference,
    desc: Descriptor,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<Readable> {
    return this.client.openBlob(ref, desc, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: { done: number; total: number }) => opts.onProgress?.(p.done, p.total) } : {}),
    });
  }
}
