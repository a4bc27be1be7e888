import { Command } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import { BboxCommand } from '../command-line/base-command.js';
import { formatListing, listingTotals, type Listing } from './cache-table.js';

/** `bbox cache list`: what the image cache holds. */
export class CacheListCommand extends BboxCommand {
  static override paths = [['cache', 'list'], ['cache', 'ls']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'List the cached images',
    details: `
      Shows each cached rootfs: its digest (short), size, when it was last used, and the image references that point to it (the first one, and how many more). Entries no reference points to are marked as orphans; \`bbox cache gc\` removes them.

      The last line sums up: entries, orphans, rootfs total, layer store, and the total on disk. A rootfs is made of hardlinks into the layer store, so its files take no space of their own and the total counts them once.
    `,
    examples: [
      ['List the cache', '$0 cache list'],
      ['As JSON, for scripts', '$0 cache list --json'],
      ['Another cache directory', '$0 cache list --cache-dir /var/cache/bbox'],
    ],
  });

  json = switchOption({ names: '--json', kind: 'boolean', description: 'Print the listing as one JSON object' });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    const raw = await cache.list();
    const listing: Listing = {
      dir: cache.dir,
      entries: raw.entries.map((e) => ({ digest: e.digest, size: e.size, rootfsSize: e.rootfsSize, lastUsed: e.lastUsed, refs: e.refs, orphan: e.orphan, held: e.held, corrupt: e.corrupt })),
      layerStoreBytes: raw.layers.bytes,
    };
    if (this.json) {
      const entries = listing.entries.map((e) => ({ ...e, lastUsed: e.lastUsed === undefined ? null : new Date(e.lastUsed).toISOString() }));
      const summary = { entries: entries.length, orphans: entries.filter((e) => e.orphan).length, ...listingTotals(listing) };
      this.context.stdout.write(JSON.stringify({ dir: listing.dir, entries, summary }) + '\n');
    } else {
      this.context.stdout.write(formatListing(listing));
    }
    return 0;
  }
}

