import { basename } from 'node:path';
import { rm } from 'node:fs/promises';
import type { CacheLayout } from '../cache/layout.js';
import type { Inventory } from '../cache/inventory.js';
import { removeUnlessHeld, type RemoveOutcome } from './remove-unless-held.js';
import { deleteTree, treeBytes } from './delete-tree.js';
import { staleTmpEntries } from '../cache/tmp-dirs.js';
import { heldDigests } from '../cache/holds.js';
import { tryLock } from '../cache/lock.js';
import { lockNames } from '../cache/lock-names.js';

/** What gc, evict, purge and the layer give-back of a failed pull run with. */
export interface CleanupContext {
  layout: CacheLayout;
  /** Locks not refreshed for this long are stale (see the lock module). */
  lockStaleMs: number;
  /** The host's `os/arch[/variant]`, for refs recorded without a platform. */
  hostPlatform: string;
}

/** Something gc, evict or purge removed (or, with dryRun, would remove). */
export interface RemovedItem {
  kind: 'entry' | 'layer' | 'tmp' | 'ref' | 'alias' | 'artifact';
  /** Digest for entries and layers, normalised ref for refs, `digest/name` for artifacts, file name otherwise. */
  id: string;
  bytes: number;
}

/** Something left in place because a live process uses it. */
export interface SkippedItem {
  kind: 'entry' | 'layer' | 'tmp' | 'artifact';
  id: string;
  reason: 'held' | 'locked' | 'in-use';
}

export interface CleanupReport {
  dryRun: boolean;
  removed: RemovedItem[];
  skipped: SkippedItem[];
  bytesFreed: number;
}

/** Collects a report while removing; with dryRun it only records. */
export class Cleanup {
  readonly report: CleanupReport;
  constructor(
    readonly layout: CacheLayout,
    readonly lockStaleMs: number,
    dryRun: boolean,
  ) {
    this.report = { dryRun, removed: [], skipped: [], bytesFreed: 0 };
  }

  get dryRun(): boolean {
    return this.report.dryRun;
  }

  private add(item: RemovedItem): void {
    this.report.removed.push(item);
    this.report.bytesFreed += item.bytes;
  }

  private outcome(kind: 'entry' | 'layer' | 'artifact', id: string, bytes: number, outcome: RemoveOutcome): boolean {
    if (outcome === 'removed') this.add({ kind, id, bytes });
    else if (outcome === 'held' || outcome === 'locked') this.report.skipped.push({ kind, id, reason: outcome });
    return outcome === 'removed';
  }

  /** @returns true when the entry is gone (or would be, in a dry run). */
  async entry(digest: string, bytes: number, held: boolean, stillWanted?: () => Promise<boolean>): Promise<boolean> {
    if (this.dryRun) return this.outcome('entry', digest, bytes, held ? 'held' : 'removed');
    const opts = { lockStaleMs: this.lockStaleMs, ...(stillWanted ? { stillWanted } : {}) };
    return this.outcome('entry', digest, bytes, await removeUnlessHeld(this.layout, 'image', digest, opts));
  }

  async layer(diffID: string, bytes: number, held: boolean): Promise<boolean> {
    if (this.dryRun) return this.outcome('layer', diffID, bytes, held ? 'held' : 'removed');
    return this.outcome('layer', diffID, bytes, await removeUnlessHeld(this.layout, 'layer', diffID, { lockStaleMs: this.lockStaleMs }));
  }

  /**
   * An artifact of an entry that stays, unless a live process holds or locks the entry (a VM may
   * be about to use the file).
   */
  async artifact(digest: string, name: string, bytes: number, held: boolean): Promise<boolean> {
    const id = `${digest}/${name}`;
    if (this.dryRun || held) return this.outcome('artifact', id, bytes, held ? 'held' : 'removed');
    if ((await heldDigests(this.layout)).has(digest)) return this.outcome('artifact', id, bytes, 'held');
    const release = await tryLock(this.layout.locks, lockNames.image(digest), { staleMs: this.lockStaleMs });
    if (!release) return this.outcome('artifact', id, bytes, 'locked');
    try {
      await rm(`${this.layout.entryDir(digest)}/${name}`, { force: true });
    } finally {
      await release();
    }
    return this.outcome('artifact', id, bytes, 'removed');
  }

  /** A ref or alias file (tiny: its bytes are not counted). */
  async record(kind: 'ref' | 'alias', id: string, file: string): Promise<void> {
    if (!this.dryRun) await rm(file, { force: true });
    this.add({ kind, id, bytes: 0 });
  }

  /** Leftovers of dead processes in tmp/. */
  async staleTmp(): Promise<void> {
    for (const t of await staleTmpEntries(this.layout)) {
      const bytes = await treeBytes(t.path);
      if (!this.dryRun && !(await deleteTree(this.layout, t.path))) continue;
      this.add({ kind: 'tmp', id: t.name, bytes });
    }
  }

  /** Sidecars of layers whose directory is gone (an interrupted removal). */
  async strayLayerRecords(inv: Inventory, names: string[]): Promise<void> {
    if (this.dryRun) return;
    const present = new Set(inv.layers.map((l) => `${basename(l.path)}.json`));
    for (const n of names) if (n.endsWith('.json') && !present.has(n)) await rm(`${this.layout.layers}/${n}`, { force: true });
  }
}
