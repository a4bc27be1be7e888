import type { Fetcher } from '@broodbox/image';
import { CliError } from '../output/errors.js';

/** What {@link offlineFetcher} throws: the answer needs the registry, which only the full pull may ask. */
export class NetworkNeededError extends CliError {
  constructor(what: string) {
    super(`${what} needs the registry; the cache alone cannot answer`, { code: 'NETWORK_NEEDED' });
  }
}

/**
 * A fetcher that makes no request: every method fails with {@link NetworkNeededError}. With it a
 * pull runs the library's own cache lookup under the real policy and stops where the policy
 * would go to the registry, having sent nothing.
 */
export function offlineFetcher(): Fetcher {
  const refuse = (what: string) => () => Promise.reject(new NetworkNeededError(what));
  return { head: refuse('checking the tag'), resolve: refuse('resolving the image'), openLayer: refuse('downloading a layer') };
}
