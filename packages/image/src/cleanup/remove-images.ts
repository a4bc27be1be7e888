import { cacheInternals, type Cache } from '../cache/cache.js';
import { displayRef, isDigestLike, matchDigest, normaliseRef } from '../cache/image-select.js';
import type { EntryInfo, Inventory } from '../cache/inventory.js';
import { listRefRecords, type AliasRecord, type RefRecord } from '../cache/ref-index.js';
import { EntrySharedError, ImageHeldError, ImageNotFoundError } from '../errors/selection-errors.js';
import type { Cleanup, CleanupReport } from './report.js';

/** Options of {@link removeImage}. */
export interface RemoveImageOptions {
  /**
   * A digest that several refs point at is refused without it (removing the entry would drop refs
   * that were not named); with it, those refs go too. It never removes what a running process
   * uses: a held entry is refused with or without it.
   */
  force?: boolean;
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
}

/** What {@link removeImage} did. */
export interface RemoveImageReport extends CleanupReport {
  /** What was asked for, as given. */
  target: string;
  /** The full digest a digest or prefix named; undefined for a ref. */
  digest?: string;
  /** Entries left in place because refs that were not named still point at them. */
  kept: string[];
}

type Selected = { file: string; record: RefRecord };

function live(inv: Inventory): Selected[] {
  return inv.refs.filter((r): r is Selected => r.record !== undefined);
}

/** The ref records a target names, and the entries it names directly (a digest of an orphan). */
function select(inv: Inventory, target: string, force: boolean): { refs: Selected[]; entries: Set<string>; digest?: string } {
  const refs = live(inv);
  if (!isDigestLike(target)) {
    const name = normaliseRef(target);
    const chosen = refs.filter((r) => r.record.ref === name);
    if (chosen.length === 0) throw new ImageNotFoundError(target);
    return { refs: chosen, entries: new Set(chosen.map((r) => r.record.digest)) };
  }
  const aliases = inv.aliases.filter((a): a is { file: string; record: AliasRecord } => a.record !== undefined);
  const names = { refs, aliases, entries: inv.entries.map((e) => e.digest) };
  const digest = matchDigest(names, target);
  const chosen = refs.filter((r) => r.record.digest === digest || r.record.topDigest === digest);
  const entries = new Set(chosen.map((r) => r.record.digest));
  if (inv.entries.some((e) => e.digest === digest)) entries.add(digest);
  for (const a of names.aliases) if (a.record.indexDigest === digest) entries.add(a.record.digest);
  const named = [...new Set(chosen.map((r) => r.record.ref))].sort();
  if (named.length > 1 && !force) throw new EntrySharedError(digest, named.map(displayRef));
  return { refs: chosen, entries, digest };
}

/**
 * Removes a cached image the way `docker rmi` does. `target` is a ref (`alpine:3.20`, every
 * platform recorded for it) or a digest or digest prefix (12+ hex digits: an entry's manifest
 * digest or an index digest). Its ref records go first; then each entry they pointed at that no
 * other ref uses, its aliases, and the layers no remaining entry was built from.
 *
 * A ref whose entry other refs still use only drops the ref (the entry is listed in `kept`). A
 * digest that several refs point at is refused unless `force` ({@link EntrySharedError}). An
 * entry a running pull or VM uses is refused, naming the processes ({@link ImageHeldError}); then
 * nothing is removed for this target.
 * @throws ImageNotFoundError, DigestAmbiguousError, InvalidDigestError, EntrySharedError, ImageHeldError.
 */
export async function removeImage(cache: Cache, target: string, opts: RemoveImageOptions = {}): Promise<RemoveImageReport> {
  // Loaded on demand: a cached pull must not pay for the modules of removal.
  const [ctx, { Cleanup }, { readInventory }, { holdersOf }] = await Promise.all([
    cacheInternals(cache).context(),
    import('./report.js'),
    import('../cache/inventory.js'),
    import('../cache/holders.js'),
  ]);
  const c = new Cleanup(ctx.layout, ctx.lockStaleMs, opts.dryRun === true);
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: true });
  const { refs, entries, digest } = select(inv, target, opts.force === true);
  const chosen = new Set(refs.map((r) => r.file));
  const stillUsed = (d: string) => live(inv).some((r) => !chosen.has(r.file) && r.record.digest === d);
  const doomed = inv.entries.filter((e) => entries.has(e.digest) && !stillUsed(e.digest));
  const kept = [...entries].filter(stillUsed).sort();
  for (const e of doomed) {
    const holders = await holdersOf(ctx.layout, e.digest);
    if (holders.length > 0) throw new ImageHeldError(e.digest, holders);
  }
  for (const { file, record } of refs) await c.record('ref', `${displayRef(record.ref)} (${record.platform})`, file);
  const gone = new Set<string>();
  for (const e of doomed) {
    // A ref recorded meanwhile by a pull puts the entry back (see removeUnlessHeld).
    const wanted = async () => (await listRefRecords(ctx.layout)).some((r) => r.record?.digest === e.digest);
    if (await c.entry(e.digest, e.size, false, wanted)) gone.add(e.digest);
  }
  for (const { file, record } of inv.aliases) if (record && gone.has(record.digest)) await c.record('alias', `${record.indexDigest} (${record.platform})`, file);
  await sweepLayersOf(c, inv, inv.entries.filter((e) => gone.has(e.digest)));
  return { ...c.report, target, ...(digest ? { digest } : {}), kept };
}

/** The layers of `removed` that no other entry was built from. */
async function sweepLayersOf(c: Cleanup, inv: Inventory, removed: EntryInfo[]): Promise<void> {
  const gone = new Set(removed.map((e) => e.digest));
  const needed = new Set(inv.entries.filter((e) => !gone.has(e.digest)).flatMap((e) => e.layers));
  const candidates = new Set(removed.flatMap((e) => e.layers));
  for (const l of inv.layers) if (candidates.has(l.diffID) && !needed.has(l.diffID)) await c.layer(l.diffID, l.size, l.held);
}
