/**
 * The names of the cache's locks, shared by the puller and gc: a pull holds `image-<digest>` while
 * it builds an entry and `layer-<diffID>` while it extracts a layer; gc, evict and purge skip what
 * is locked. Pass these to `Cache.withLock`, never a name spelled by hand.
 */
export const lockNames = {
  image: (digest: string) => `image-${digest}`,
  layer: (diffID: string) => `layer-${diffID}`,
};
