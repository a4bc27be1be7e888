import { lstat, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Platform, Reference } from 'oci-client-lite';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { writeFileAtomic } from './atomic-write.js';
import { CacheCorruptError, CacheError, EntryHeldError, EntryNotFoundError } from '../errors/cache-errors.js';
import type { CloneOptions, CloneResult } from './clone.js';
import { checkSeal, reseal } from './entry-seal.js';
import type { EntryInfo } from './inventory.js';
import {
  CacheLayout,
  checkDigest,
  defaultCacheDir,
  ENTRY_FILES,
  existingLayout,
  isSha256Digest,
  openLayout,
} from './layout.js';
import type { CleanupReport } from '../cleanup/report.js';
import { readEntryMeta, toEntryMeta, writeEntryMeta, type EntryMeta, type PublishMeta } from './entry-meta.js';
import type { EvictOptions } from '../cleanup/evict.js';
import type { GcOptions } from '../cleanup/gc.js';
import { EntryDamagedError } from '../errors/cache-errors.js';
import type { HeldLock, LockOptions } from './lock.js';
import type { PurgeOptions } from '../cleanup/purge.js';
import {
  platformKey,
  readAlias,
  readRefRecord,
  removeRefRecord,
  prepareRefRecord,
  writeAlias,
  type RefRecord,
} from './ref-index.js';
import { makeTmpDir, staleTmpEntries, tmpName } from './tmp-dirs.js';
import type { RootFS } from '../types.js';
import type { EntryVerdict, VerifyContext, VerifyOptions, VerifyReport } from '../verify/verify.js';

// Maintenance work (gc, evict, purge, verify, clone) is loaded when first asked for: the cache-hit
// path of a pull must not pay for its modules at start-up.
// So are the modules of locking, holding, removal and inventory, which a hit never touches.
const loadVerify = () => import('../verify/verify.js');
const loadLock = () => import('./lock.js');
const loadRemoval = () => import('../cleanup/delete-tree.js');
const loadRemoveUnlessHeld = () => import('../cleanup/remove-unless-held.js');
const loadInventory = () => import('./inventory.js');

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

  private async ctx(layout: CacheLayout) {
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
      summary: (digest) => this.entrySummary(digest),
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
    return exists(layout.entryFile(digest, 'meta'));
  }

  /** meta.json of an entry (config, layers, size, platform, created); undefined when absent. */
  async entryMeta(digest: string): Promise<EntryMeta | undefined> {
    const layout = await this.layout();
    return readEntryMeta(layout.entryFile(checkDigest(digest), 'meta'), digest);
  }

  /** The composer's summary recorded at publish (for verification); undefined when none. */
  async entrySummary(digest: string): Promise<unknown> {
    const layout = await this.layout();
    const path = layout.entryFile(checkDigest(digest), 'summary');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new CacheCorruptError(path, 'summary.json is not valid JSON', { cause: err });
    }
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
   * the entry. Write it elsewhere (a {@link createTmpDir}) and rename it here, so it is never seen half-made.
   */
  artifactPath(digest: string, name: string): string {
    if (!ARTIFACT_RE.test(name) || RESERVED.has(name)) {
      throw new CacheError('INVALID_ARTIFACT_NAME', `artifact name ${JSON.stringify(name)} is not allowed: use letters, digits, . _ - and none of ${[...RESERVED].join(', ')}`);
    }
    return join(this.layoutNow.entryDir(digest), name);
  }

  /** The extracted layer directory of a diffID (its inside belongs to the layer composer). */
  layerDir(diffID: string): string {
    return this.layoutNow.layerDir(diffID);
  }

  async hasLayer(diffID: string): Promise<boolean> {
    if (!isSha256Digest(diffID)) return false;
    const layout = await this.layout();
    return exists(layout.layerDir(diffID));
  }

  // ---- refs -------------------------------------------------------------------------------------

  /**
   * Records where `ref` points for `platform` (resolved now), atomically. The entry must be complete
   * already: a ref never points at a partial entry. When `topDigest` (an index) differs from `digest`
   * an alias is recorded too, so a pull pinned to the index digest finds the entry.
   */
  async recordRef(
    ref: string | Reference,
    target: { digest: string; topDigest?: string; platform?: PlatformLike; resolvedAt?: number },
  ): Promise<RefRecord> {
    return (await this.prepareRef(ref, target)).commit();
  }

  /**
   * {@link recordRef} in two steps, for a caller that expects the ref to stay where it is while it
   * asks the registry: the record is written and flushed now (resolved now, unless `resolvedAt`),
   * and takes effect with `commit()`, which checks the entry and records the alias as recordRef
   * does. `discard()` drops it and leaves the ref as it was; call one of the two.
   * @throws InvalidDigestError for a malformed digest, before anything is written. `commit()`
   * throws EntryNotFoundError when the entry is not (or no longer) cached, dropping the record.
   */
  async prepareRef(
    ref: string | Reference,
    target: { digest: string; topDigest?: string; platform?: PlatformLike; resolvedAt?: number },
  ): Promise<{ record: RefRecord; commit: () => Promise<RefRecord>; discard: () => Promise<void> }> {
    const layout = await this.layout();
    const digest = checkDigest(target.digest);
    const topDigest = checkDigest(target.topDigest ?? digest, 'top digest');
    const platform = platformKey(target.platform);
    const record: RefRecord = { ref: formatReference(toReference(ref)), platform, digest, topDigest, resolvedAt: target.resolvedAt ?? Date.now() };
    const draft = await prepareRefRecord(layout, record);
    const commit = async (): Promise<RefRecord> => {
      try {
        if (!(await this.hasEntry(digest))) throw new EntryNotFoundError(digest, `record ${record.ref}`);
        // An unchanged index keeps its alias: rewriting it (with its fsync) on every refresh buys nothing.
        if (topDigest !== digest && (await readAlias(layout, topDigest, platform).catch(() => undefined))?.digest !== digest) {
          await writeAlias(layout, { indexDigest: topDigest, platform, digest });
        }
      } catch (err) {
        await draft.discard();
        throw err;
      }
      await draft.commit();
      return record;
    };
    return { record, commit, discard: () => draft.discard() };
  }

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

  // ---- writing (for the puller) -----------------------------------------------------------------

  /** A fresh private directory in the cache's tmp/, named with this process's id so leftovers of a crash are recognised. */
  async createTmpDir(kind: string): Promise<string> {
    return makeTmpDir(await this.layout(), kind);
  }

  /** Removes a directory made by {@link createTmpDir} (refuses anything else). */
  async removeTmpDir(dir: string): Promise<void> {
    const layout = await this.layout();
    if (dirname(dir) !== layout.tmp) throw new CacheError('NOT_A_TMP_DIR', `${dir} is not a tmp directory of the cache ${layout.root}`);
    const { deleteTree } = await loadRemoval();
    await deleteTree(layout, dir);
  }

  private async checkTmp(layout: CacheLayout, dir: string): Promise<void> {
    if (dirname(dir) !== layout.tmp) throw new CacheError('NOT_A_TMP_DIR', `${dir} is not a tmp directory of the cache ${layout.root}`);
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new CacheError('NOT_A_TMP_DIR', `${dir} is not a directory`);
  }

  /**
   * Publishes a finished entry: `tmpDir` (from {@link createTmpDir}) holds `rootfs/` and any
   * artifacts; meta.json, summary.json and last-used are written beside rootfs/ and the whole
   * directory is renamed into images/ in one step. If another process published the digest first,
   * ours is discarded and theirs stands. Until a ref points at it the new entry is an orphan that gc
   * may take: hold the digest ({@link hold}) from before publishing until the ref is recorded.
   * @returns the rootfs path.
   */
  async publishEntry(tmpDir: string, meta: PublishMeta): Promise<string> {
    const layout = await this.layout();
    await this.checkTmp(layout, tmpDir);
    const m = toEntryMeta(meta);
    const rootfs = await lstat(join(tmpDir, ENTRY_FILES.rootfs)).catch(() => undefined);
    if (!rootfs?.isDirectory()) throw new CacheError('NOTHING_TO_PUBLISH', `${tmpDir} has no rootfs/ directory to publish`);
    await writeEntryMeta(join(tmpDir, ENTRY_FILES.meta), m);
    if (meta.summary !== undefined) await writeFile(join(tmpDir, ENTRY_FILES.summary), JSON.stringify(meta.summary), { mode: 0o600 });
    await writeFile(join(tmpDir, ENTRY_FILES.lastUsed), '', { mode: 0o600 });
    await this.renameInto(layout, tmpDir, layout.entryDir(m.digest));
    return layout.entryFile(m.digest, 'rootfs');
  }

  private async renameInto(layout: CacheLayout, tmpDir: string, dest: string): Promise<boolean> {
    try {
      await rename(tmpDir, dest);
      return true;
    } catch (err) {
      if (errno(err) !== 'ENOTEMPTY' && errno(err) !== 'EEXIST') throw err;
      const { deleteTree } = await loadRemoval();
      await deleteTree(layout, tmpDir);
      return false;
    }
  }

  /**
   * Publishes an extracted layer: `tmpDir` (from {@link createTmpDir}) becomes `layerDir(diffID)`
   * with one rename, and `bytes` (its extracted size) is recorded for listings. If the layer was
   * published meanwhile, ours is discarded.
   * @returns the layer directory.
   */
  async publishLayer(tmpDir: string, diffID: string, bytes: number): Promise<string> {
    const layout = await this.layout();
    await this.checkTmp(layout, tmpDir);
    const dest = layout.layerDir(checkDigest(diffID, 'layer diffID'));
    const won = await this.renameInto(layout, tmpDir, dest);
    if (won || !(await exists(layout.layerRecord(diffID)))) {
      const record = { diffID, size: bytes, created: new Date().toISOString() };
      await writeFileAtomic(layout.layerRecord(diffID), `${JSON.stringify(record)}\n`, join(layout.tmp, tmpName('write')));
    }
    return dest;
  }

  // ---- concurrency ------------------------------------------------------------------------------

  /**
   * Runs `fn` under the cross-process lock `name`: waits while another live process holds it; the
   * lock of a holder that is dead is taken over at once (`fn` is told so by `lock.takeover`), and
   * that of a holder on another host or pid namespace once it is not refreshed for `lockStaleMs`.
   * gc skips entries and layers whose `image-<digest>` / `layer-<diffID>` lock is held.
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

  /** {@link hold} for layer diffIDs. */
  holdLayers(diffIDs: string[]): Promise<() => Promise<void>> {
    return this.hold(diffIDs);
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

  /**
   * Removes those of the layers `diffIDs` that no entry uses and nothing holds or locks; the
   * others stay. A pull that ran out of space gives back with it what it stored.
   */
  async dropUnusedLayers(diffIDs: string[]): Promise<CleanupReport> {
    const { dropUnusedLayers } = await import('../cleanup/gc.js');
    return dropUnusedLayers(await this.ctx(await this.layout()), diffIDs.map((d) => checkDigest(d)));
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

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw err;
  }
}
