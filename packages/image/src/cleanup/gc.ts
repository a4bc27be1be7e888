import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheLayout } from '../cache/layout.js';
import { readInventory, type EntryInfo, type Inventory } from '../cache/inventory.js';
import { Cleanup, type CleanupContext, type CleanupReport } from './report.js';
import { listRefRecords } from '../cache/ref-index.js';

export interface GcOptions {
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * Whether the component that made an artifact (a file beside an entry's rootfs) still needs one
   * of this name. Those it does not need are removed from the entries that stay, unless a live
   * process holds the entry. Default: every artifact is needed.
   */
  artifactNeeded?: (name: string) => boolean;
}

type Ctx = CleanupContext;

async function refPointsAt(layout: CacheLayout, digest: string): Promise<boolean> {
  return (await listRefRecords(layout)).some((r) => r.record?.digest === digest);
}

/** Refs and aliases whose entry is missing or damaged, and unreadable record files. */
async function danglingRecords(c: Cleanup, inv: Inventory, live: Set<string>): Promise<void> {
  for (const { file, record } of inv.refs) {
    if (!record || !live.has(record.digest)) await c.record('ref', record ? `${record.ref} (${record.platform})` : file, file);
  }
  for (const { file, record } of inv.aliases) {
    if (!record || !live.has(record.digest)) await c.record('alias', record ? `${record.indexDigest} (${record.platform})` : file, file);
  }
}

/** The stored layers none of `entries` was built from. */
function unneededLayers(inv: Inventory, entries: EntryInfo[]): Inventory['layers'] {
  const needed = new Set(entries.flatMap((e) => e.layers));
  return inv.layers.filter((l) => !needed.has(l.diffID));
}

/** Layers no remaining entry was built from. */
export async function sweepLayers(c: Cleanup, inv: Inventory, remaining: EntryInfo[]): Promise<void> {
  for (const l of unneededLayers(inv, remaining)) await c.layer(l.diffID, l.size, l.held);
  await c.strayLayerRecords(inv, await readdir(c.layout.layers));
}

/**
 * Removes what nothing needs: leftovers of dead processes in tmp/, refs and aliases pointing at
 * missing entries, entries no ref points at (and damaged ones), then layers no remaining entry
 * was built from. Held or locked entries and layers (a running pull or VM) stay.
 */
export async function collectGarbage(ctx: Ctx, opts: GcOptions = {}): Promise<CleanupReport> {
  const c = new Cleanup(ctx.layout, ctx.lockStaleMs, opts.dryRun === true);
  await c.staleTmp();
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: c.dryRun });
  const live = new Set(inv.entries.filter((e) => !e.corrupt).map((e) => e.digest));
  await danglingRecords(c, inv, live);
  const remaining: EntryInfo[] = [];
  for (const e of inv.entries) {
    const unwanted = e.orphan || e.corrupt;
    const wanted = e.corrupt ? undefined : () => refPointsAt(ctx.layout, e.digest);
    if (!unwanted || !(await c.entry(e.digest, e.size, e.held, wanted))) remaining.push(e);
  }
  if (opts.artifactNeeded) await sweepArtifacts(c, remaining, opts.artifactNeeded);
  await sweepLayers(c, inv, remaining);
  return c.report;
}

/** Artifacts of `entries` that their maker no longer needs. */
async function sweepArtifacts(c: Cleanup, entries: EntryInfo[], needed: (name: string) => boolean): Promise<void> {
  for (const e of entries) {
    for (const name of e.artifacts.filter((n) => !needed(n))) {
      const bytes = await lstat(join(e.dir, name)).then((s) => (s.isFile() ? Math.min(s.size, s.blocks * 512) : 0), () => 0);
      await c.artifact(e.digest, name, bytes, e.held);
    }
  }
}

/**
 * Removes those of `diffIDs` that no entry was built from and that nothing holds or locks: what a
 * pull stored before it failed, when nothing else needs it. Layers another pull is using stay.
 */
export async function dropUnusedLayers(ctx: Ctx, diffIDs: string[]): Promise<CleanupReport> {
  const c = new Cleanup(ctx.layout, ctx.lockStaleMs, false);
  const wanted = new Set(diffIDs);
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: true });
  for (const l of unneededLayers(inv, inv.entries)) {
    if (wanted.has(l.diffID)) await c.layer(l.diffID, l.size, l.held);
  }
  return c.report;
}
