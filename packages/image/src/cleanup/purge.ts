import { readdir } from 'node:fs/promises';
import { readInventory, type EntryInfo } from '../cache/inventory.js';
import { Cleanup, type CleanupContext, type CleanupReport } from './report.js';
import { sweepLayers } from './gc.js';
import { isLiveTmpName } from '../cache/tmp-dirs.js';

export interface PurgeOptions {
  dryRun?: boolean;
}

type Ctx = CleanupContext;

/**
 * Empties the cache except what live processes use: every ref and alias, every entry and layer not
 * held or locked by a running pull or VM, and tmp leftovers of dead processes. It does not wait for
 * holders: what they hold is reported as skipped and goes with the next gc once released. Only the
 * cache's own subdirectories are touched, by name, and nothing is followed through a symlink.
 */
export async function purgeCache(ctx: Ctx, opts: PurgeOptions = {}): Promise<CleanupReport> {
  const c = new Cleanup(ctx.layout, ctx.lockStaleMs, opts.dryRun === true);
  const inv = await readInventory(ctx.layout, { hostPlatform: ctx.hostPlatform, dryRun: c.dryRun });
  for (const { file, record } of inv.refs) await c.record('ref', record ? `${record.ref} (${record.platform})` : file, file);
  for (const { file, record } of inv.aliases) {
    await c.record('alias', record ? `${record.indexDigest} (${record.platform})` : file, file);
  }
  const remaining: EntryInfo[] = [];
  for (const e of inv.entries) if (!(await c.entry(e.digest, e.size, e.held))) remaining.push(e);
  await sweepLayers(c, inv, remaining);
  await c.staleTmp();
  for (const name of await readdir(ctx.layout.tmp)) {
    if (isLiveTmpName(name) && !name.startsWith('trash.')) c.report.skipped.push({ kind: 'tmp', id: name, reason: 'in-use' });
  }
  return c.report;
}
