import { parseDuration } from '../pull/duration.js';
import { readInventory, type EntryInfo, type Inventory } from '../cache/inventory.js';
import { Cleanup, type CleanupContext, type CleanupReport } from './report.js';
import { sweepLayers } from './gc.js';

export interface EvictOptions {
  /** Evict entries not used for longer than this: milliseconds, or a duration string (`7d`). */
  maxAge?: number | string;
  /** Then evict least recently used entries until entries plus layers fit in this many bytes. */
  maxBytes?: number;
  /** Manifest digests never evicted (e.g. the image about to run). */
  keep?: string[];
  dryRun?: boolean;
  /** Clock for the age test (default now). */
  now?: Date;
}

type Ctx = CleanupContext;

/** Bytes of entries plus layers, and which layers only `e` still needs. */
class Footprint {
  total: number;
  private readonly users = new Map<string, number>();
  private readonly layerBytes = new Map<string, number>();

  constructor(inv: Inventory) {
    this.total = inv.entries.reduce((n, e) => n + e.size, 0) + inv.layers.reduce((n, l) => n + l.size, 0);
    for (const l of inv.layers) this.layerBytes.set(l.diffID, l.size);
    for (const e of inv.entries) for (const d of new Set(e.layers)) this.users.set(d, (this.users.get(d) ?? 0) + 1);
  }

  drop(e: EntryInfo): void {
    this.total -= e.size;
    for (const d of new Set(e.layers)) {
      const left = (this.users.get(d) ?? 1) - 1;
      this.users.set(d, left);
      if (left === 0) this.total -= this.layerBytes.get(d) ?? 0;
    }
  }
}

function pickVictims(inv: Inventory, opts: EvictOptions): EntryInfo[] {
  const keep = new Set(opts.keep ?? []);
  const now = (opts.now ?? new Date()).getTime();
  const maxAge = typeof opts.maxAge === 'string' ? parseDuration(opts.maxAge) : opts.maxAge;
  const candidates = inv.entries
    .filter((e) => !keep.has(e.digest) && !e.held)
    .sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  const footprint = new Footprint(inv);
  const victims: EntryInfo[] = [];
  for (const e of candidates) {
    const old = maxAge !== undefined && now - e.lastUsed.getTime() > maxAge;
    const over = opts.maxBytes !== undefined && footprint.total > opts.maxBytes;
    if (!old && !over) continue;
    victims.push(e);
    footprint.drop(e);
  }
  return victims;
}

/**
 * Least-recently-used eviction: entries unused for longer than `maxAge`, then the oldest ones
 * until entries and layers fit in `maxBytes`. The refs of an evicted entry go with it, and layers
 * no remaining entry needs are swept. `keep`, held and locked entries stay.
 */
export async function evictEntries(ctx: Ctx, opts: EvictOptions = {}): Promise<CleanupReport> {
  const c = new Cleanup(ctx.layout, ctx.lockStaleMs, opts.dryRun === true);
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: c.dryRun });
  const victims = new Set(pickVictims(inv, opts).map((e) => e.digest));
  const remaining: EntryInfo[] = [];
  for (const e of inv.entries) {
    if (!victims.has(e.digest) || !(await c.entry(e.digest, e.size, e.held))) remaining.push(e);
  }
  const gone = new Set(inv.entries.filter((e) => !remaining.includes(e)).map((e) => e.digest));
  for (const { file, record } of inv.refs) if (record && gone.has(record.digest)) await c.record('ref', `${record.ref} (${record.platform})`, file);
  for (const { file, record } of inv.aliases) {
    if (record && gone.has(record.digest)) await c.record('alias', `${record.indexDigest} (${record.platform})`, file);
  }
  await sweepLayers(c, inv, remaining);
  return c.report;
}
