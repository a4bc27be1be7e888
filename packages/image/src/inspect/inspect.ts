import { stat } from 'node:fs/promises';
import type { ImageConfig, ImageManifest, ResolvedImage } from 'oci-client-lite';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { formatPlatform, hostPlatform, parsePlatform } from 'oci-client-lite/platform';
import { cacheInternals, type Cache, type PlatformLike } from '../cache/cache.js';
import { readEntryMeta, readLayerRecord, type EntryMeta } from '../cache/entry-meta.js';
import { locateImage } from '../cache/image-select.js';
import { type CacheLayout } from '../cache/layout.js';
import { platformKey } from '../cache/ref-index.js';
import { ImageNotFoundError } from '../errors/selection-errors.js';
import { LAYOUT_PREFIX, LayoutFetcher, parseLayoutReference } from '../pull/layout-fetcher.js';
import { defaultFetcher, type PullOptions } from '../pull/pull.js';

/** One layer of an inspected image. */
export interface InspectedLayer {
  /** Digest of the blob as the registry stores it. */
  digest: string;
  mediaType: string;
  /** Bytes of the blob (compressed). */
  size: number;
  /** Digest of the uncompressed tar. */
  diffID?: string;
  /** Bytes of the extracted layer; known once it is in the cache. */
  unpackedSize?: number;
}

/** What the image's config says a container runs with. */
export interface InspectedConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  labels: Record<string, string>;
  /** `80/tcp`, … */
  exposedPorts: string[];
}

/** What {@link inspectImage} and {@link inspectRemote} return. */
export interface ImageInspection {
  /** The normalised ref, when one was given. */
  ref?: string;
  /** The platform manifest digest (the cache entry). */
  digest: string;
  /** The index digest the ref or digest named, for a multi-platform image (docker's repo digest). */
  indexDigest?: string;
  /** `os/arch[/variant]`. */
  platform: string;
  /** When the image was built (its config's `created`), when it says. */
  created?: string;
  config: InspectedConfig;
  layers: InspectedLayer[];
  /** Set when the image is in the cache. */
  cached?: {
    rootfs: string;
    /** Rootfs bytes as recorded when it was built. */
    size: number;
    /** When it was put in the cache. */
    cachedAt: string;
    lastUsed?: string;
  };
}

function describeConfig(c: ImageConfig): InspectedConfig {
  const cfg = c.config ?? {};
  const ports = cfg.ExposedPorts && typeof cfg.ExposedPorts === 'object' ? Object.keys(cfg.ExposedPorts).sort() : [];
  return {
    entrypoint: cfg.Entrypoint ?? [],
    cmd: cfg.Cmd ?? [],
    env: cfg.Env ?? [],
    workdir: cfg.WorkingDir ?? '',
    user: cfg.User ?? '',
    labels: cfg.Labels ?? {},
    exposedPorts: ports,
  };
}

function layersOf(manifest: ImageManifest | undefined, config: ImageConfig, stored?: EntryMeta['layers']): InspectedLayer[] {
  const descs = manifest?.layers ?? [];
  const count = Math.max(descs.length, stored?.length ?? 0);
  return Array.from({ length: count }, (_, i) => {
    const d = descs[i];
    const s = stored?.[i];
    const diffID = s?.diffID ?? config.rootfs?.diff_ids?.[i];
    return { digest: d?.digest ?? s?.digest ?? '', mediaType: d?.mediaType ?? '', size: d?.size ?? s?.size ?? 0, ...(diffID ? { diffID } : {}) };
  });
}

function created(config: ImageConfig): { created?: string } {
  return typeof config.created === 'string' ? { created: config.created } : {};
}

async function cachedInspection(layout: CacheLayout, meta: EntryMeta, extra: { ref?: string; indexDigest?: string }): Promise<ImageInspection> {
  const layers = layersOf(meta.manifest, meta.config, meta.layers);
  await Promise.all(
    layers.map(async (l) => {
      const rec = l.diffID ? await readLayerRecord(layout.layerRecord(l.diffID)) : undefined;
      if (rec) l.unpackedSize = rec.size;
    }),
  );
  const used = await stat(layout.entryFile(meta.digest, 'lastUsed')).catch(() => undefined);
  const indexDigest = extra.indexDigest ?? meta.topDigest;
  return {
    ...(extra.ref ? { ref: extra.ref } : {}),
    digest: meta.digest,
    ...(indexDigest && indexDigest !== meta.digest ? { indexDigest } : {}),
    platform: meta.platform,
    ...created(meta.config),
    config: describeConfig(meta.config),
    layers,
    cached: {
      rootfs: layout.entryFile(meta.digest, 'rootfs'),
      size: meta.size,
      cachedAt: meta.created,
      ...(used ? { lastUsed: used.mtime.toISOString() } : {}),
    },
  };
}

/** Options of {@link inspectImage}. */
export interface InspectImageOptions {
  /** The platform of a ref or index digest (default the host's). */
  platform?: PlatformLike;
}

/**
 * Describes a cached image without the network and without marking it as used: digests,
 * platform, `created`, what its config runs (entrypoint, cmd, env, workdir, user, labels, exposed
 * ports), its layers (digest, media type, compressed and unpacked size) and its rootfs. `target`
 * is a ref, or a digest or digest prefix (12+ hex digits) of an entry or of an index.
 * @throws ImageNotFoundError when the cache does not hold it; DigestAmbiguousError, InvalidDigestError.
 */
export async function inspectImage(cache: Cache, target: string, opts: InspectImageOptions = {}): Promise<ImageInspection> {
  const layout = await cacheInternals(cache).layout();
  const found = await locateImage(cache, target, opts);
  const meta = await readEntryMeta(layout.entryFile(found.digest, 'meta'), found.digest);
  if (!meta) throw new ImageNotFoundError(target);
  return cachedInspection(layout, meta, found);
}

/**
 * Options of {@link inspectRemote}: where and how to ask, as for a pull (`fetcher`, `registries`,
 * `insecure`, `noRegistryCache`, `registryCache`, `network`), the platform, and a signal.
 */
export type InspectRemoteOptions = Pick<PullOptions, 'platform' | 'fetcher' | 'registries' | 'insecure' | 'noRegistryCache' | 'registryCache' | 'network' | 'signal'>;

/**
 * Describes an image as the registry (or an `oci-layout:` source) serves it now, without pulling
 * it: the manifest, index and config are fetched and verified, no layer is. Unpacked sizes are
 * not known this way. Nothing is written to any cache.
 */
export async function inspectRemote(ref: string, opts: InspectRemoteOptions = {}): Promise<ImageInspection> {
  const isLayout = ref.startsWith(LAYOUT_PREFIX);
  const parsed = isLayout ? parseLayoutReference(ref) : parseReference(ref);
  const platform = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const fetcher = opts.fetcher ?? (isLayout ? new LayoutFetcher() : defaultFetcher(opts));
  const resolved: ResolvedImage = await fetcher.resolve(parsed, { platform, ...(opts.signal ? { signal: opts.signal } : {}) });
  return {
    ref: isLayout ? ref : formatReference(parsed),
    digest: resolved.digest,
    ...(resolved.topDigest !== resolved.digest ? { indexDigest: resolved.topDigest } : {}),
    platform: platformKey(formatPlatform(platform)),
    ...created(resolved.config),
    config: describeConfig(resolved.config),
    layers: layersOf(resolved.manifest, resolved.config),
  };
}
