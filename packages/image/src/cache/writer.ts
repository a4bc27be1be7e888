import { lstat, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Reference } from 'oci-client-lite';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { CacheError, EntryNotFoundError } from '../errors/cache-errors.js';
import type { CleanupReport } from '../cleanup/report.js';
import { writeFileAtomic } from './atomic-write.js';
import { cacheInternals, type Cache, type PlatformLike } from './cache.js';
import { readEntrySummary, toEntryMeta, writeEntryMeta, type PublishMeta } from './entry-meta.js';
import { checkDigest, ENTRY_FILES, pathExists, type CacheLayout } from './layout.js';
import { isSha256Digest } from '../digest.js';
import { platformKey, prepareRefRecord, readAlias, writeAlias, type RefRecord } from './ref-index.js';
import { makeTmpDir, tmpName } from './tmp-dirs.js';

const loadRemoval = () => import('../cleanup/delete-tree.js');

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Where a ref is to point: the entry's manifest digest, the index it was reached through, the platform. */
export interface RefTarget {
  digest: string;
  topDigest?: string;
  platform?: PlatformLike;
  resolvedAt?: number;
}

/** A ref record written aside: `commit()` puts it in place, `discard()` drops it. */
export interface RefDraft {
  record: RefRecord;
  commit: () => Promise<RefRecord>;
  discard: () => Promise<void>;
}

/**
 * What the puller does to a {@link Cache} and a library user never needs: tmp directories,
 * publishing layers and entries, recording refs, holding layers, giving back layers after a
 * failed pull. Not exported from the package: reach it with {@link cacheWriter}.
 */
export class CacheWriter {
  constructor(private readonly cache: Cache) {}

  private layout(): Promise<CacheLayout> {
    return cacheInternals(this.cache).layout();
  }

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
   * may take: hold the digest (`Cache.hold`) from before publishing until the ref is recorded.
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
    if (won || !(await pathExists(layout.layerRecord(diffID)))) {
      const record = { diffID, size: bytes, created: new Date().toISOString() };
      await writeFileAtomic(layout.layerRecord(diffID), `${JSON.stringify(record)}\n`, join(layout.tmp, tmpName('write')));
    }
    return dest;
  }

  /** The extracted layer directory of a diffID (its inside belongs to the layer composer). */
  layerDir(diffID: string): string {
    return cacheInternals(this.cache).layoutNow().layerDir(diffID);
  }

  /** True when the layer store holds the layer. */
  async hasLayer(diffID: string): Promise<boolean> {
    if (!isSha256Digest(diffID)) return false;
    const layout = await this.layout();
    return pathExists(layout.layerDir(diffID));
  }

  /** {@link Cache.hold} for layer diffIDs. */
  holdLayers(diffIDs: string[]): Promise<() => Promise<void>> {
    return this.cache.hold(diffIDs);
  }

  /** The composer's summary recorded at publish (for verification); undefined when none. */
  async entrySummary(digest: string): Promise<unknown> {
    return readEntrySummary(await this.layout(), checkDigest(digest));
  }

  /**
   * Records where `ref` points for `platform` (resolved now), atomically. The entry must be complete
   * already: a ref never points at a partial entry. When `topDigest` (an index) differs from `digest`
   * an alias is recorded too, so a pull pinned to the index digest finds the entry.
   */
  async recordRef(ref: string | Reference, target: RefTarget): Promise<RefRecord> {
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
  async prepareRef(ref: string | Reference, target: RefTarget): Promise<RefDraft> {
    const layout = await this.layout();
    const digest = checkDigest(target.digest);
    const topDigest = checkDigest(target.topDigest ?? digest, 'top digest');
    const platform = platformKey(target.platform);
    const name = formatReference(typeof ref === 'string' ? parseReference(ref) : ref);
    const record: RefRecord = { ref: name, platform, digest, topDigest, resolvedAt: target.resolvedAt ?? Date.now() };
    const draft = await prepareRefRecord(layout, record);
    const commit = async (): Promise<RefRecord> => {
      try {
        if (!(await this.cache.hasEntry(digest))) throw new EntryNotFoundError(digest, `record ${record.ref}`);
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

  /**
   * Removes those of the layers `diffIDs` that no entry uses and nothing holds or locks; the
   * others stay. A pull that ran out of space gives back with it what it stored.
   */
  async dropUnusedLayers(diffIDs: string[]): Promise<CleanupReport> {
    const { dropUnusedLayers } = await import('../cleanup/gc.js');
    return dropUnusedLayers(await cacheInternals(this.cache).context(), diffIDs.map((d) => checkDigest(d)));
  }
}

const writers = new WeakMap<Cache, CacheWriter>();

/** The writer of a cache (one per Cache object). */
export function cacheWriter(cache: Cache): CacheWriter {
  let w = writers.get(cache);
  if (!w) {
    w = new CacheWriter(cache);
    writers.set(cache, w);
  }
  return w;
}
