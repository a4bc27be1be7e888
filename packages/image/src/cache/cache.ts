import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform, Reference } from 'oci-client-lite';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { CacheError, EntryDamagedError, EntryHeldError, EntryNotFoundError } from '../errors/cache-errors.js';
import type { CloneOptions, CloneResult } from './clone.js';
import { checkSeal, reseal } from './entry-seal.js';
import type { EntryInfo } from './inventory.js';
import {
  CacheLayout,
  checkDigest,
  defaultCacheDir,
  ENTRY_FILES,
  existingLayout,
  openLayout,
  pathExists,
} from './layout.js';
import { isSha256Digest } from '../digest.js';
import type { CleanupContext, CleanupReport } from '../cleanup/report.js';
import { readEntryMeta, readEntrySummary, type EntryMeta } from './entry-meta.js';
import type { EvictOptions } from '../cleanup/evict.js';
import type { GcOptions } from '../cleanup/gc.js';
import type { HeldLock, LockOptions } from './lock.js';
import type { PurgeOptions } from '../cleanup/purge.js';
import {
  platformKey,
  readAlias,
  readRefRecord,
  removeRefRecord,
  type RefRecord,
} from './ref-index.js';
import { staleTmpEntries, tmpName } from './tmp-dirs.js';
import type { RootFS } from '../types.js';
import type { EntryVerdict, VerifyContext, VerifyOptions, VerifyReport } from '../verify/verify.js';
import type { ImageOwners, ImageOwnersOptions } from '../compose/image-owners.js';

// Maintenance work (gc, evict, purge, verify, clone) is loaded when first asked for: the cache-hit
// path of a pull must not pay for its modules at start-up.
// So are the modules of locking, holding, removal and inventory, which a hit never touches.
const loadVerify = () => import('../verify/verify.js');
const loadLock = () => import('./lock.js');
const loadRemoval = () => import('../cleanup/delete-tree.js');
const loadRemoveUnlessHeld = () => import('../cleanup/remove-unless-held.js');
const loadInventory = () => import('./inventory.js');
const loadOwners = () => import('../compose/image-owners.js');

/** Options of {@link Cache}. */
export interface CacheOptions {
  /**
   * Locks of holders that cannot be checked (another host or pid namespace) are taken over when not
   * refreshed for this long (default 10 s). A dead holder's lock on this host is taken over at once.
   */
  lockStaleMs?: number;
}

/** What {@link Cache.list} returns. */
export interface CacheListing {
  /** Most recently used first. */
  entries: EntryInfo[];
  layers: { count: number; bytes: number; unused: number };
  totals: { entries: number; entryBytes: number; layerBytes: number; bytes: number };
}

/** A platform given as an object or `os/arch[/variant]`; default the host's. */
export type PlatformLike = Platform | string;

/** What the cache's writer (./writer.ts) reaches inside a {@link Cache}; not part of the package's API. */
export interface CacheInternals {
  /** Opens the layout on first use (see {@link Cache.init}). */
  layout(): Promise<CacheLayout>;
  /** The layout's paths, without opening it. */
  layoutNow(): CacheLayout;
  /** What gc, evict, purge and the layer give-back run with. */
  context(): Promise<CleanupContext>;
}

const internals = new WeakMap<Cache, CacheInternals>();

/** The internals of a cache, for its writer. */
export function cacheInternals(cache: Cache): CacheInternals {
  return internals.get(cache)!;
}

const ARTIFACT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RESERVED = new Set<string>(Object.values(ENTRY_FILES));

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function toReference(ref: string | Reference): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/**
 * The content-addressed image cache (layout in docs/cache-layout.md). One entry per manifest digest
 * holds a rootfs that is read-only by contract, its metadata beside it, and artifacts of other
 * components. Safe for concurrent use by several processes.
 *
 * This is the user's side: look up, hold, list, clean up, verify, clone. Entries are put in by
 * `pullWithFetcher`, through the cache's writer (cache/writer.ts), which is not exported.
 */
export class Cache {
  /** The directory as given (may be a symlink). */
  readonly dir: string;
  /** Undefined: the lock module's default, looked up when a lock is first needed. */
  private readonly staleMsOption: number | undefined;
  private opened: Promise<CacheLayout> | undefined;
  private layoutNow: CacheLayout;
  /** Full checks of entries whose seal failed, shared by concurrent hits on the same entry. */
  private readonly confirming = new Map<string, Promise<boolean>>();

  constructor(dir: string = defaultCacheDir(), options: CacheOptions = {}) {
    this.dir = dir;
    this.staleMsOption = options.lockStaleMs;
    this.layoutNow = new CacheLayout(dir);
    internals.set(this, {
      layout: () => this.layout(),
      layoutNow: () => this.layoutNow,
      context: async () => this.ctx(await this.layout()),
    });
  }

  /**
   * Creates or checks the layout (mode 0700, VERSION) and removes leftovers of dead processes from
   * tmp/. Every other method calls it; calling it directly surfaces setup errors early.
   */
  init(): Promise<void> {
    return this.layout().then(() => undefined);
  }

  private layout(): Promise<CacheLayout> {
    this.opened ??= this.open();
    return this.opened;
  }

  private async open(): Promise<CacheLayout> {
    try {
      const layout = await openLayout(this.dir);
      // Best effort: a leftover that cannot be removed now must not fail the lookup that opened the cache.
      const stale = await staleTmpEntries(layout);
      if (stale.length > 0) {
        const { deleteTree } = await loadRemoval();
        for (const t of stale) await deleteTree(layout, t.path).catch(() => undefined);
      }
      this.layoutNow = layout;
      return layout;
    } catch (err) {
      this.opened = undefined;
      throw err;
    }
  }

  private async lockStaleMs(): Promise<number> {
    return this.staleMsOption ?? (await loadLock()).DEFAULT_LOCK_STALE_MS;
  }

  private async ctx(layout: CacheLayout): Promise<CleanupContext> {
    return { layout, lockStaleMs: await this.lockStaleMs(), hostPlatform: platformKey(undefined) };
  }

  // ---- reading --------------------------------------------------------------------------------

  /**
   * The cached rootfs `ref` points at for `platform`, with no network; undefined when not cached.
   * A ref pinned by digest is answered by that digest alone, never by a tag's mapping.
   * Marks the entry as used (for LRU eviction).
   */
  async lookupRef(ref: string | Reference, opts: { platform?: PlatformLike } = {}): Promise<RootFS | undefined> {
    const r = toReference(ref);
    const refString = formatReference(r);
    if (r.digest) {
      const hit = await this.get(r.digest, opts);
      return hit && { ...hit, ref: refString };
    }
    const layout = await this.layout();
    const record = await readRefRecord(layout, refString, platformKey(opts.platform));
    if (!record) return undefined;
    return this.serve(layout, record.digest, refString);
  }

  /**
   * The entry of a manifest digest, or of an index digest already resolved for `platform`;
   * undefined when not cached. `ref` of the result is the digest. Marks the entry as used.
   */
  async get(digest: string, opts: { platform?: PlatformLike } = {}): Promise<RootFS | undefined> {
    if (!isSha256Digest(digest)) return undefined;
    const layout = await this.layout();
    const direct = await this.serve(layout, digest, digest);
    if (direct) return direct;
    const alias = await readAlias(layout, digest, platformKey(opts.platform));
    return alias ? this.serve(layout, alias.digest, digest) : undefined;
  }

  /**
   * What {@link get} would return, read without side effects: the entry is not marked as used and
   * a moved seal is not followed by the full check. `'unsure'`: the seal moved, so only `get`
   * (which verifies, and repairs) can answer. Lets a caller read ahead while it waits for the
   * registry, then {@link touch} the entry it really uses.
   */
  async peek(digest: string, opts: { platform?: PlatformLike } = {}): Promise<RootFS | 'unsure' | undefined> {
    if (!isSha256Digest(digest)) return undefined;
    const layout = await this.layout();
    const direct = await this.look(layout, digest, digest);
    if (direct) return direct;
    const alias = await readAlias(layout, digest, platformKey(opts.platform));
    return alias ? this.look(layout, alias.digest, digest) : undefined;
  }

  private async look(layout: CacheLayout, digest: string, ref: string): Promise<RootFS | 'unsure' | undefined> {
    const meta = await readEntryMeta(layout.entryFile(digest, 'meta'), digest);
    if (!meta) return undefined;
    const path = layout.entryFile(digest, 'rootfs');
    if (checkSeal(path, layout.entryFile(digest, 'summary')) === 'changed') return 'unsure';
    return { path, digest, config: meta.config, fromCache: true, ref };
  }

  private async serve(layout: CacheLayout, digest: string, ref: string): Promise<RootFS | undefined> {
    // The touch goes alongside the read: a hit is two small reads and one utimes, nothing else.
    const [meta] = await Promise.all([readEntryMeta(layout.entryFile(digest, 'meta'), digest), this.touchFile(layout, digest)]);
    if (!meta) return undefined;
    const path = layout.entryFile(digest, 'rootfs');
    // A damaged tree is never handed out: it is checked in full, removed, and the caller pulls again.
    if (checkSeal(path, layout.entryFile(digest, 'summary')) === 'changed' && !(await this.confirmIntact(layout, digest))) return undefined;
    return { path, digest, config: meta.config, fromCache: true, ref };
  }

  /** Full verification of an entry whose seal failed; repairs it when damaged. @returns true when intact. */
  private confirmIntact(layout: CacheLayout, digest: string): Promise<boolean> {
    let pending = this.confirming.get(digest);
    if (!pending) {
      pending = this.verifyAndRepair(layout, digest).finally(() => this.confirming.delete(digest));
      this.confirming.set(digest, pending);
    }
    return pending;
  }

  private async verifyAndRepair(layout: CacheLayout, digest: string): Promise<boolean> {
    const { verifyCache } = await loadVerify();
    const report = await verifyCache(this.verifyContext(layout), { digest, repair: true }).catch((err: unknown) => {
      if (err instanceof EntryNotFoundError) return undefined;
      throw err;
    });
    const verdict = report?.entries[0];
    if (!report || !verdict) return false;
    if (verdict.ok) {
      await reseal(layout.entryFile(digest, 'summary'), join(layout.tmp, tmpName('write')));
      return true;
    }
    // Not removed because a running process holds it: neither serve it nor let a pull replace it.
    if (report.skipped.some((x) => x.kind === 'entry' && x.id === digest)) throw new EntryDamagedError(digest, describeDamage(verdict));
    return false;
  }

  private verifyContext(layout: CacheLayout): VerifyContext {
    return {
      layout,
      hostPlatform: platformKey(undefined),
      summary: (digest) => readEntrySummary(layout, checkDigest(digest)),
      hold: (digests) => this.hold(digests),
      removeEntry: (digest) => this.removeEntry(digest),
      removeLayer: async (diffID) => (await loadRemoveUnlessHeld()).removeUnlessHeld(layout, 'layer', diffID, { lockStaleMs: await this.lockStaleMs() }),
    };
  }

  /** Every entry with size, last use, refs and orphan state, and the layer store's totals; reads metadata only. */
  async list(): Promise<CacheListing> {
    const layout = await this.layout();
    const { readInventory } = await loadInventory();
    const inv = await readInventory(layout, { hostPlatform: platformKey(undefined), dryRun: true });
    const entries = inv.entries.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
    const entryBytes = entries.reduce((n, e) => n + e.size, 0);
    const layerBytes = inv.layers.reduce((n, l) => n + l.size, 0);
    return {
      entries,
      layers: { count: inv.layers.length, bytes: layerBytes, unused: inv.layers.filter((l) => l.usedBy.length === 0).length },
      totals: { entries: entries.length, entryBytes, layerBytes, bytes: entryBytes + layerBytes },
    };
  }

  /** True when a complete entry for the manifest digest is present. */
  async hasEntry(digest: string): Promise<boolean> {
    if (!isSha256Digest(digest)) return false;
    const layout = await this.layout();
    return pathExists(layout.entryFile(digest, 'meta'));
  }

  /** meta.json of an entry (config, layers, size, platform, created); undefined when absent. */
  async entryMeta(digest: string): Promise<EntryMeta | undefined> {
    const layout = await this.layout();
    return readEntryMeta(layout.entryFile(checkDigest(digest), 'meta'), digest);
  }

  /**
   * The owner, group, mode and type the image gives each path of the entry's rootfs, from its
   * layers' records: what a VM or another consumer should show, even when the rootfs on disk was
   * unpacked without root (then every file there belongs to the user who pulled it). See
   * docs/cache-layout.md, "Owners without root". Throws EntryNotFoundError when not cached.
   */
  async imageOwners(digest: string, opts: ImageOwnersOptions = {}): Promise<ImageOwners> {
    const meta = await this.entryMeta(digest);
    if (!meta) throw new EntryNotFoundError(digest, 'read its owners');
    return (await loadOwners()).readImageOwners(
      meta.layers.map((l) => this.layoutNow.layerDir(l.diffID)),
      opts,
    );
  }

  // ---- paths ------------------------------------------------------------------------------------

  /** The entry directory of a manifest digest (rootfs/, meta.json, artifacts). */
  entryPath(digest: string): string {
    return this.layoutNow.entryDir(digest);
  }

  /** The rootfs directory of a manifest digest. Read-only by contract. */
  rootfsPath(digest: string): string {
    return this.layoutNow.entryFile(digest, 'rootfs');
  }

  /**
   * Where another component keeps a file derived from the entry (e.g. `disk.ext4`); removed with
   * the entry. Write it elsewhere on the same file system and rename it here, so it is never seen half-made.
   */
  artifactPath(digest: string, name: string): string {
    if (!ARTIFACT_RE.test(name) || RESERVED.has(name)) {
      throw new CacheError('INVALID_ARTIFACT_NAME', `artifact name ${JSON.stringify(name)} is not allowed: use letters, digits, . _ - and none of ${[...RESERVED].join(', ')}`);
    }
    return join(this.layoutNow.entryDir(digest), name);
  }

  // ---- refs -------------------------------------------------------------------------------------

  /** The ref's record for `platform` (digest, topDigest, resolvedAt in epoch ms); undefined when none. */
  async refRecord(ref: string | Reference, platform?: PlatformLike): Promise<RefRecord | undefined> {
    const layout = await this.layout();
    return readRefRecord(layout, formatReference(toReference(ref)), platformKey(platform));
  }

  /** Forgets the ref for `platform`. @returns true when a record was removed. */
  async removeRef(ref: string | Reference, platform?: PlatformLike): Promise<boolean> {
    const layout = await this.layout();
    return removeRefRecord(layout, formatReference(toReference(ref)), platformKey(platform));
  }

  // ---- concurrency ------------------------------------------------------------------------------

  /**
   * Runs `fn` under the cross-process lock `name`: waits while another live process holds it; the
   * lock of a holder that is dead is taken over at once (`fn` is told so by `lock.takeover`), and
   * that of a holder on another host or pid namespace once it is not refreshed for `lockStaleMs`.
   * gc skips entries and layers whose lock ({@link lockNames}) is held.
   */
  async withLock<T>(name: string, fn: (lock: HeldLock) => Promise<T>, opts: Omit<LockOptions, 'staleMs'> = {}): Promise<T> {
    const layout = await this.layout();
    const { withLock } = await loadLock();
    return withLock(layout.locks, name, fn, { staleMs: await this.lockStaleMs(), ...opts });
  }

  /**
   * Leases digests (entries or layers) so gc, evict and purge keep them while this process lives;
   * call the returned function to release. A hold may precede the entry (a pull holds what it is
   * about to publish). To use an existing entry safely, hold first and then check it: {@link holdEntry}.
   */
  async hold(digests: string | string[]): Promise<() => Promise<void>> {
    const list = (Array.isArray(digests) ? digests : [digests]).map((d) => checkDigest(d));
    const [layout, { addHold }] = await Promise.all([this.layout(), import('./holds.js')]);
    return addHold(layout, list);
  }

  /** Holds an entry and returns it, or undefined (and no hold) when it is not cached. */
  async holdEntry(digest: string): Promise<{ rootfs: RootFS; release: () => Promise<void> } | undefined> {
    const release = await this.hold(digest);
    const rootfs = await this.get(digest).catch(async (err: unknown) => {
      await release();
      throw err;
    });
    if (rootfs) return { rootfs, release };
    await release();
    return undefined;
  }

  /** Marks an entry as used now (the LRU clock of {@link evict}). */
  async touch(digest: string): Promise<void> {
    await this.touchFile(await this.layout(), checkDigest(digest));
  }

  private async touchFile(layout: CacheLayout, digest: string): Promise<void> {
    const path = layout.entryFile(digest, 'lastUsed');
    const now = new Date();
    try {
      await utimes(path, now, now);
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw err;
      // Recreated only inside an existing entry ('wx' never follows a planted symlink).
      await writeFile(path, '', { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    }
  }

  // ---- cleanup ----------------------------------------------------------------------------------

  /** Removes what nothing needs (see docs/cache-layout.md); held and locked items stay. */
  async gc(opts: GcOptions = {}): Promise<CleanupReport> {
    const { collectGarbage } = await import('../cleanup/gc.js');
    return collectGarbage(await this.ctx(await this.layout()), opts);
  }

  /** Least-recently-used eviction by age and/or total size; `keep`, held and locked entries stay. */
  async evict(opts: EvictOptions = {}): Promise<CleanupReport> {
    const { evictEntries } = await import('../cleanup/evict.js');
    return evictEntries(await this.ctx(await this.layout()), opts);
  }

  /**
   * Removes every ref, entry and layer except what running processes hold, without waiting for
   * them. Refuses a directory that is not a bbox cache; a missing directory is an empty report.
   */
  async purge(opts: PurgeOptions = {}): Promise<CleanupReport> {
    // Checked before opening, which would otherwise create the directory or write into a foreign one.
    if (!this.opened && !(await existingLayout(this.dir))) return { dryRun: opts.dryRun === true, removed: [], skipped: [], bytesFreed: 0 };
    const { purgeCache } = await import('../cleanup/purge.js');
    return purgeCache(await this.ctx(await this.layout()), opts);
  }

  // ---- integrity --------------------------------------------------------------------------------

  /**
   * Re-checks entries (all, or `digest`) against what was recorded when they were made: layer
   * store files re-hashed against their layer index, the tree those indexes describe against the
   * summary stored at publish, and the rootfs on disk (lstat and content) against that tree.
   * Reports every changed (with the field), missing and extra path. With `repair`, removes damaged
   * entries with their refs, damaged layers and the entries built from them, so the next pull is
   * clean; with `pull` too, fetches the removed refs again. See docs/cache-layout.md.
   * @throws EntryNotFoundError when `digest` is not cached.
   */
  async verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    const { verifyCache } = await loadVerify();
    return verifyCache(this.verifyContext(await this.layout()), opts);
  }

  /**
   * Makes a private writable copy of an entry's rootfs at `dest` (absent, or an empty directory,
   * outside the cache): reflinks where the filesystem supports them (probed once), a copy
   * otherwise, never hardlinks. Modes, ownership (as root), mtimes, symlinks and the image's own
   * hardlinks are kept. The entry is held while it is copied.
   * @throws EntryNotFoundError when the entry is not cached; CloneDestinationError for a refused `dest`.
   */
  async clone(digest: string, dest: string, opts: CloneOptions = {}): Promise<CloneResult> {
    const layout = await this.layout();
    checkDigest(digest);
    const held = await this.holdEntry(digest);
    if (!held) throw new EntryNotFoundError(digest, `clone it into ${dest}`);
    try {
      const { cloneTree } = await import('./clone.js');
      return await cloneTree(held.rootfs.path, dest, { cacheRoot: layout.root, probeDir: layout.tmp, ...(opts.signal ? { signal: opts.signal } : {}) });
    } finally {
      await held.release();
    }
  }

  /**
   * Removes one entry and the refs and aliases pointing at it (e.g. a damaged entry found by verify).
   * @throws EntryHeldError when a running process holds it, unless `force`.
   * @returns false when there was no such entry.
   */
  async removeEntry(digest: string, opts: { force?: boolean } = {}): Promise<boolean> {
    const layout = await this.layout();
    checkDigest(digest);
    const [{ removeUnlessHeld }, { readInventory }, { isInside }] = await Promise.all([loadRemoveUnlessHeld(), loadInventory(), loadRemoval()]);
    const outcome = await removeUnlessHeld(layout, 'image', digest, { lockStaleMs: await this.lockStaleMs(), force: opts.force === true });
    if (outcome === 'held' || outcome === 'locked') throw new EntryHeldError(digest);
    const inv = await readInventory(layout, { hostPlatform: platformKey(undefined) });
    for (const { file, record } of [...inv.refs, ...inv.aliases]) {
      if (record?.digest === digest && isInside(layout.root, file)) await rm(file, { force: true });
    }
    return outcome === 'removed';
  }
}

function describeDamage(v: EntryVerdict): string {
  const shown = v.problems.slice(0, 3).map((p) => `${p.kind} ${p.path || '/'}${p.field ? ` (${p.field})` : ''}`);
  if (v.problems.length > shown.length) shown.push(`${v.problems.length - shown.length} more`);
  if (v.error) shown.push(v.error);
  return shown.join(', ');
}
