import { readInventory, type EntryInfo, type Inventory } from '../cache/inventory.js';
import { checkDigest, type CacheLayout } from '../cache/layout.js';
import { EntryHeldError, EntryNotFoundError } from '../errors/cache-errors.js';
import { describeRootfs } from '../compose/compose.js';
import { FsWorkerPool } from './fs-worker-pool.js';
import type { RemoveOutcome } from '../cleanup/remove-unless-held.js';
import { checkLayer, type LayerCheck, type LayerVerdict } from './layer-verify.js';
import type { LayerIndex } from '../layers/layer-index.js';
import { checkRootfs } from './rootfs-verify.js';
import { ownersApplied, type VerifyProblem } from './problems.js';

/** Options of `Cache.verify`. */
export interface VerifyOptions {
  /** Check only this entry (a manifest digest); default every entry. */
  digest?: string;
  /**
   * Remove what is damaged so that the next pull is clean: each damaged entry with its refs and
   * aliases, each layer whose store files are damaged, and every entry built from such a layer.
   * Held entries and layers (a running pull or VM) are left and reported in `skipped`.
   */
  repair?: boolean;
  /**
   * With `repair`: called once per ref that pointed at a removed entry, after the removals, to
   * fetch it again (e.g. `(ref, platform) => pullWithFetcher(ref, { cache, platform })`).
   * Its failures are reported in `repulled`, not thrown.
   */
  pull?: (ref: string, platform: string) => Promise<unknown>;
}

/** What verification found in one cache entry. */
export interface EntryVerdict {
  digest: string;
  /** No problem, no damaged layer, no error. */
  ok: boolean;
  /** Changed, missing and extra paths of the rootfs, sorted by path. */
  problems: VerifyProblem[];
  /** Layers of the entry whose store files are damaged or missing. */
  damagedLayers: string[];
  /** Why the entry could not be checked in full (missing metadata, missing layer, summary mismatch). */
  error?: string;
  /** Set by a repair that removed the entry. */
  repaired?: boolean;
}

/** What `Cache.verify` returns. */
export interface VerifyReport {
  entries: EntryVerdict[];
  /** Every layer checked (each once, however many entries share it). */
  layers: LayerVerdict[];
  /** Entries that are not ok. */
  damaged: number;
  /** What a repair removed (entries include those built from a damaged layer). */
  repaired: Array<{ kind: 'entry' | 'layer'; id: string }>;
  /** What a repair left because a running process holds or locks it. */
  skipped: Array<{ kind: 'entry' | 'layer'; id: string; reason: 'held' | 'locked' }>;
  /** Refs fetched again through `pull` after a repair. */
  repulled: Array<{ ref: string; platform: string; ok: boolean; error?: string }>;
}

/** What verification needs from the cache. */
export interface VerifyContext {
  layout: CacheLayout;
  hostPlatform: string;
  summary(digest: string): Promise<unknown>;
  hold(digests: string[]): Promise<() => Promise<void>>;
  /** Removes an entry with its refs and aliases; throws {@link EntryHeldError} when held. */
  removeEntry(digest: string): Promise<boolean>;
  removeLayer(diffID: string): Promise<RemoveOutcome>;
}

interface Run {
  ctx: VerifyContext;
  fs: FsWorkerPool;
  owners: boolean;
  layers: Map<string, Promise<LayerCheck>>;
}

/**
 * Re-checks entries against what was recorded when they were made: each layer's content files
 * against its index (re-hashed), the tree those indexes describe against the Merkle summary stored
 * at publish, and the rootfs on disk against that tree. With `repair`, removes what is damaged.
 */
export async function verifyCache(ctx: VerifyContext, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: true });
  const only = opts.digest === undefined ? undefined : checkDigest(opts.digest);
  const targets = only === undefined ? inv.entries : inv.entries.filter((e) => e.digest === only);
  if (only !== undefined && targets.length === 0) throw new EntryNotFoundError(only, 'verify it');
  const run: Run = { ctx, fs: new FsWorkerPool(), owners: ownersApplied(), layers: new Map() };
  const entries: EntryVerdict[] = [];
  let layers: LayerVerdict[];
  try {
    for (const e of targets) entries.push(await verifyEntry(run, e));
    layers = await Promise.all([...run.layers.values()].map(async (c) => (await c).verdict));
  } finally {
    await run.fs.close();
  }
  const report: VerifyReport = { entries, layers, damaged: entries.filter((e) => !e.ok).length, repaired: [], skipped: [], repulled: [] };
  if (opts.repair) await repair(ctx, inv, report, opts.pull);
  return report;
}

function summaryDigest(recorded: unknown): string | undefined {
  if (typeof recorded === 'string') return recorded;
  const inner = (recorded as { summary?: unknown } | undefined)?.summary;
  return typeof inner === 'string' ? inner : undefined;
}

async function verifyEntry(run: Run, e: EntryInfo): Promise<EntryVerdict> {
  const verdict: EntryVerdict = { digest: e.digest, ok: false, problems: [], damagedLayers: [] };
  if (e.corrupt) return { ...verdict, error: 'meta.json is missing or unreadable' };
  const unique = [...new Set(e.layers)];
  const release = await run.ctx.hold([e.digest, ...unique]);
  try {
    const summary = summaryDigest(await run.ctx.summary(e.digest).catch(() => undefined));
    const checks = new Map<string, LayerCheck>();
    for (const d of unique) checks.set(d, await layerCheck(run, d));
    verdict.damagedLayers = unique.filter((d) => !checks.get(d)!.verdict.ok);
    const indexes = e.layers.map((d) => checks.get(d)!.index);
    if (summary === undefined) verdict.error = 'summary.json is missing or unreadable, so the tree cannot be checked';
    else if (indexes.some((i) => i === undefined)) verdict.error = 'a layer it was built from is missing or unreadable, so the tree cannot be checked';
    else {
      const described = describeRootfs(indexes as LayerIndex[]);
      if (described.summary !== summary) verdict.error = 'its layer indexes no longer describe the tree recorded at publish (summary mismatch)';
      else {
        const intact = new Map([...checks.values()].flatMap((c) => [...c.intact]));
        verdict.problems = await checkRootfs(e.path, described.records, { fs: run.fs, owners: run.owners, intact });
      }
    }
    if (verdict.error === undefined && verdict.damagedLayers.length > 0) verdict.error = `layers ${verdict.damagedLayers.join(', ')} are damaged`;
    verdict.ok = verdict.error === undefined && verdict.problems.length === 0;
    return verdict;
  } finally {
    await release();
  }
}

function layerCheck(run: Run, diffID: string): Promise<LayerCheck> {
  let check = run.layers.get(diffID);
  if (!check) {
    check = checkLayer(run.ctx.layout.layerDir(diffID), diffID, { fs: run.fs, owners: run.owners });
    run.layers.set(diffID, check);
  }
  return check;
}

async function repair(ctx: VerifyContext, inv: Inventory, report: VerifyReport, pull: VerifyOptions['pull']): Promise<void> {
  const badLayers = new Set(report.layers.filter((l) => !l.ok).map((l) => l.diffID));
  const badEntries = new Set(report.entries.filter((e) => !e.ok).map((e) => e.digest));
  for (const e of inv.entries) if (e.layers.some((d) => badLayers.has(d))) badEntries.add(e.digest);
  const refs: Array<{ ref: string; platform: string }> = [];
  for (const digest of badEntries) {
    const pointing = inv.refs.flatMap(({ record }) => (record?.digest === digest ? [{ ref: record.ref, platform: record.platform }] : []));
    try {
      if (!(await ctx.removeEntry(digest))) continue;
    } catch (err) {
      if (!(err instanceof EntryHeldError)) throw err;
      report.skipped.push({ kind: 'entry', id: digest, reason: 'held' });
      continue;
    }
    report.repaired.push({ kind: 'entry', id: digest });
    const verdict = report.entries.find((v) => v.digest === digest);
    if (verdict) verdict.repaired = true;
    refs.push(...pointing);
  }
  for (const diffID of badLayers) {
    const outcome = await ctx.removeLayer(diffID);
    if (outcome === 'held' || outcome === 'locked') report.skipped.push({ kind: 'layer', id: diffID, reason: outcome });
    if (outcome !== 'removed') continue;
    report.repaired.push({ kind: 'layer', id: diffID });
    const verdict = report.layers.find((v) => v.diffID === diffID);
    if (verdict) verdict.repaired = true;
  }
  if (!pull) return;
  for (const r of refs) {
    try {
      await pull(r.ref, r.platform);
      report.repulled.push({ ...r, ok: true });
    } catch (err) {
      report.repulled.push({ ...r, ok: false, error: (err as Error).message });
    }
  }
}
