import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Descriptor, Platform, Reference, ResolvedImage } from 'oci-client-lite';
import type { Cache } from '../cache/cache.js';
import { cacheWriter } from '../cache/writer.js';
import { lockNames } from '../cache/lock-names.js';
import { extractLayer } from '../layers/extract.js';
import { readLayerTotals } from '../layers/index-reader.js';
import { composeLowerStage, composeRootfs, finishStagedCompose, type ComposeResult, type StagedTree, type StoredLayer } from '../compose/compose.js';
import { runTogether } from './run-together.js';
import { layerCompression } from '../layers/media-type.js';
import { InvalidImageError } from '../errors/pull-errors.js';
import { CacheFullError } from '../errors/cache-errors.js';
import { LayerConflictError, LayerError } from '../errors/layer-errors.js';
import type { ExtractLimits, Fetcher, PullProgress, PullWarning, RootFS } from '../types.js';
import { isSha256Digest } from '../digest.js';

/** What bringing an image into the cache cost. */
export interface MaterialiseStats {
  /** Layers downloaded and extracted by this call. */
  layersFetched: number;
  /** Compressed bytes downloaded by this call. */
  bytesFetched: number;
  /** Layers already in the layer store (shared with other images). */
  layersReused: number;
  /**
   * When the image's bottom layers were already stored: paths of their tree, made while the other
   * layers downloaded, that the upper layers left as they were (staged compose).
   */
  pathsKept?: number;
  /** What this call could not do in full (e.g. extended attributes without `setfattr`), each code once. */
  warnings?: PullWarning[];
}

export interface MaterialiseOptions {
  ref: Reference;
  refString: string;
  platform: Platform;
  signal?: AbortSignal;
  onProgress?: (e: PullProgress) => void;
  /** Resolved once by the caller (`resolveExtractLimits`): every field set and checked. */
  limits: ExtractLimits;
}

/** Layer downloads and extractions running at once: the disk, not the network, is the bottleneck. */
const LAYER_CONCURRENCY = 3;

/** More layers than any real image has; a manifest past it is hostile or broken. */
const MAX_LAYERS = 1000;

function checkShape(img: ResolvedImage): string[] {
  const layers = img.manifest.layers;
  const diffIDs = img.config.rootfs?.diff_ids;
  if (!Array.isArray(diffIDs)) throw new InvalidImageError(`image ${img.digest} has no rootfs.diff_ids in its config`);
  if (layers.length > MAX_LAYERS) throw new InvalidImageError(`image ${img.digest} has ${layers.length} layers, over the limit of ${MAX_LAYERS}`);
  if (layers.length !== diffIDs.length) {
    throw new InvalidImageError(`image ${img.digest} lists ${layers.length} layers but its config has ${diffIDs.length} diff_ids`);
  }
  for (const d of diffIDs) {
    if (!isSha256Digest(d)) throw new InvalidImageError(`image ${img.digest} has a malformed diff_id ${JSON.stringify(d)}`);
  }
  for (const l of layers) layerCompression(l);
  return diffIDs;
}

/**
 * Makes sure the cache holds a complete entry for `img`: fetches and extracts only the layers the
 * layer store lacks, composes the rootfs in a tmp dir and publishes it with one rename.
 * Concurrent callers (other processes included) do the work once: per-image and per-layer locks.
 */
export async function materialise(
  cache: Cache,
  fetcher: Fetcher,
  img: ResolvedImage,
  opts: MaterialiseOptions,
): Promise<{ rootfs: RootFS; stats: MaterialiseStats }> {
  const diffIDs = checkShape(img);
  const stats: RunStats = { layersFetched: 0, bytesFetched: 0, layersReused: 0, stored: [] };
  const existing = await cache.get(img.digest);
  if (existing) return { rootfs: { ...existing, fromCache: true }, stats };
  const bytes = img.manifest.layers.reduce((n, l) => n + l.size, 0);
  opts.onProgress?.({ type: 'resolved', ref: opts.refString, digest: img.digest, layers: diffIDs.length, bytes });

  const filled = cache.withLock(lockNames.image(img.digest), () => fill(cache, fetcher, img, diffIDs, opts, stats));
  return filled.then(({ rootfs, stats: { stored: _, ...reported } }) => ({ rootfs, stats: reported }), async (err: unknown) => {
    if (!isNoSpace(err)) throw err;
    // Out of space: the layers this pull stored help no one while the image cannot fit, so they
    // go (unless another image or pull uses them). After other failures they stay for a retry.
    await cacheWriter(cache).dropUnusedLayers(stats.stored).catch(() => undefined);
    throw new CacheFullError(cache.dir, err);
  });
}

/** The stats, plus what only this module needs: the layers this call put in the layer store. */
type RunStats = MaterialiseStats & { stored: string[] };

/** ENOSPC or EDQUOT, whichever layer (store writer, composer, metadata) ran into it. */
function isNoSpace(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | undefined;
  const code = err instanceof LayerError ? e?.errno : e?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A conflict between layers, found while composing, named with the layer's digest and the image. */
function locateConflict(err: unknown, img: ResolvedImage, opts: MaterialiseOptions): unknown {
  const desc = err instanceof LayerConflictError ? img.manifest.layers[err.layerIndex] : undefined;
  return desc ? (err as LayerConflictError).locate({ layer: desc.digest, image: opts.refString }) : err;
}

async function fill(
  cache: Cache,
  fetcher: Fetcher,
  img: ResolvedImage,
  diffIDs: string[],
  opts: MaterialiseOptions,
  stats: RunStats,
): Promise<{ rootfs: RootFS; stats: RunStats }> {
  // Another process may have published it while this one waited for the lock.
  const again = await cache.get(img.digest);
  if (again) return { rootfs: { ...again, fromCache: true }, stats };
  const release = await cacheWriter(cache).holdLayers(diffIDs);
  try {
    const stored = await storedPrefix(cache, diffIDs);
    const rootfs =
      stored > 0 && stored < diffIDs.length
        ? await stagedFill(cache, fetcher, img, diffIDs, stored, opts, stats)
        : await ensureLayers(cache, fetcher, img, diffIDs, opts, stats).then(() => compose(cache, img, diffIDs, opts));
    return { rootfs: { ...rootfs, fromCache: stats.layersFetched === 0 }, stats };
  } finally {
    await release();
  }
}

/** How many of the image's bottom layers the layer store already holds, counting up from the bottom. */
async function storedPrefix(cache: Cache, diffIDs: string[]): Promise<number> {
  const stored = await Promise.all(diffIDs.map((d) => cacheWriter(cache).hasLayer(d)));
  const missing = stored.indexOf(false);
  return missing < 0 ? stored.length : missing;
}

/**
 * An image whose bottom layers are stored and whose upper ones are not (a new version of an
 * image, most often only its top layer new): the rootfs of the stored layers is made while the
 * others download and extract, then brought up to the full image, touching only what the upper
 * layers change. Same result as {@link compose} after {@link ensureLayers}, in less time.
 */
async function stagedFill(
  cache: Cache,
  fetcher: Fetcher,
  img: ResolvedImage,
  diffIDs: string[],
  stored: number,
  opts: MaterialiseOptions,
  stats: RunStats,
): Promise<RootFS> {
  const { maxBytes } = opts.limits;
  const lower = await storedLayers(cache, img, diffIDs.slice(0, stored), maxBytes);
  const tmp = await cacheWriter(cache).createTmpDir('rootfs');
  const dest = join(tmp, 'rootfs');
  try {
    // Either half failing stops the other rather than letting it run on.
    const [staged] = await runTogether<StagedTree | void>(
      [(signal) => composeLowerStage(lower, dest, { signal }), (signal) => ensureLayers(cache, fetcher, img, diffIDs, { ...opts, signal }, stats)],
      opts.signal,
    );
    const upper = await storedLayers(cache, img, diffIDs.slice(stored), maxBytes, unpackedBytes(lower));
    const composed = await finishStagedCompose(staged as StagedTree, upper, dest, { records: false, ...(opts.signal ? { signal: opts.signal } : {}) });
    stats.pathsKept = composed.kept;
    return await publish(cache, img, diffIDs, tmp, composed, opts);
  } catch (err) {
    await cacheWriter(cache).removeTmpDir(tmp);
    throw locateConflict(err, img, opts);
  }
}

/** A stored layer and what its tar unpacks to. */
type SizedLayer = StoredLayer & { bytes: number };

/**
 * The stored layers `diffIDs`, checked against the unpacked-size limit (`priorBytes`: what the
 * layers below them, read earlier, unpack to). Only their indexes' totals are read here: compose
 * streams the entries.
 */
async function storedLayers(cache: Cache, img: ResolvedImage, diffIDs: string[], maxBytes: number, priorBytes = 0): Promise<SizedLayer[]> {
  const layers: SizedLayer[] = [];
  for (const d of diffIDs) {
    const dir = cacheWriter(cache).layerDir(d);
    const totals = await readLayerTotals(dir);
    layers.push({ dir, bytes: totals.bytes, entries: totals.entryCount });
  }
  const total = priorBytes + unpackedBytes(layers);
  if (total > maxBytes) {
    throw new InvalidImageError(`image ${img.digest} unpacks to ${total} bytes, over the limit of ${maxBytes}`);
  }
  return layers;
}

function unpackedBytes(layers: SizedLayer[]): number {
  return layers.reduce((n, l) => n + l.bytes, 0);
}

async function ensureLayers(
  cache: Cache,
  fetcher: Fetcher,
  img: ResolvedImage,
  diffIDs: string[],
  opts: MaterialiseOptions,
  stats: RunStats,
): Promise<void> {
  const limit = pLimit(LAYER_CONCURRENCY);
  const seen = new Set<string>();
  const tasks: Array<(signal: AbortSignal) => Promise<void>> = [];
  img.manifest.layers.forEach((desc, index) => {
    const diffID = diffIDs[index]!;
    // Images may repeat a layer (empty layers are common): fetch it once.
    if (seen.has(diffID)) return;
    seen.add(diffID);
    tasks.push((signal) =>
      limit(() => {
        signal.throwIfAborted();
        return ensureLayer(cache, fetcher, desc, diffID, index, { ...opts, signal }, stats);
      }),
    );
  });
  // One failed layer stops its siblings, and the pull settles only once every layer's download has
  // ended and its tmp dir is gone: a rejected pull leaves no work running and no space taken.
  await runTogether(tasks, opts.signal);
}

async function ensureLayer(
  cache: Cache,
  fetcher: Fetcher,
  desc: Descriptor,
  diffID: string,
  index: number,
  opts: MaterialiseOptions,
  stats: RunStats,
): Promise<void> {
  if (await cacheWriter(cache).hasLayer(diffID)) {
    stats.layersReused++;
    opts.onProgress?.({ type: 'layer-start', digest: desc.digest, size: desc.size, index, cached: true });
    opts.onProgress?.({ type: 'layer-done', digest: desc.digest, index });
    return;
  }
  const lockOpts = opts.signal ? { signal: opts.signal } : {};
  await cache.withLock(lockNames.layer(diffID), async () => {
    if (await cacheWriter(cache).hasLayer(diffID)) {
      stats.layersReused++;
      return;
    }
    opts.onProgress?.({ type: 'layer-start', digest: desc.digest, size: desc.size, index, cached: false });
    const tmp = await cacheWriter(cache).createTmpDir('layer');
    try {
      const stream = await fetcher.openLayer(opts.ref, desc, {
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (done, total) => opts.onProgress?.({ type: 'layer-progress', digest: desc.digest, done, total }),
      });
      const layerIndex = await extractLayer(stream, {
        returnEntries: false,
        compression: layerCompression(desc),
        diffID,
        dir: tmp,
        limits: opts.limits,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onWarning: (w) => {
          if (!stats.warnings?.some((x) => x.code === w.code)) (stats.warnings ??= []).push(w);
        },
      });
      await cacheWriter(cache).publishLayer(tmp, diffID, layerIndex.bytes);
      stats.stored.push(diffID);
    } catch (err) {
      await cacheWriter(cache).removeTmpDir(tmp);
      throw err instanceof LayerError ? err.locate({ layer: desc.digest, image: opts.refString }) : err;
    }
    stats.layersFetched++;
    stats.bytesFetched += desc.size;
    opts.onProgress?.({ type: 'layer-done', digest: desc.digest, index });
  }, lockOpts);
}

async function compose(cache: Cache, img: ResolvedImage, diffIDs: string[], opts: MaterialiseOptions): Promise<RootFS> {
  const layers = await storedLayers(cache, img, diffIDs, opts.limits.maxBytes);
  const tmp = await cacheWriter(cache).createTmpDir('rootfs');
  try {
    const composed = await composeRootfs(layers, join(tmp, 'rootfs'), { records: false });
    return await publish(cache, img, diffIDs, tmp, composed, opts);
  } catch (err) {
    await cacheWriter(cache).removeTmpDir(tmp);
    throw locateConflict(err, img, opts);
  }
}

/** Publishes the rootfs composed in `tmp` as the image's cache entry. */
async function publish(
  cache: Cache,
  img: ResolvedImage,
  diffIDs: string[],
  tmp: string,
  composed: ComposeResult,
  opts: MaterialiseOptions,
): Promise<RootFS> {
  const path = await cacheWriter(cache).publishEntry(tmp, {
    digest: img.digest,
    topDigest: img.topDigest,
    platform: opts.platform,
    config: img.config,
    manifest: img.manifest,
    layers: img.manifest.layers.map((l, i) => ({ digest: l.digest, diffID: diffIDs[i]!, size: l.size })),
    size: composed.bytes,
    summary: composed.summary,
  });
  return { path, digest: img.digest, config: img.config, fromCache: false, ref: opts.refString };
}
