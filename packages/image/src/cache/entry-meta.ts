import { readFile, writeFile } from 'node:fs/promises';
import type { ImageConfig, ImageManifest, Platform } from 'oci-client-lite';
import { CacheCorruptError } from '../errors/cache-errors.js';
import { checkDigest, type CacheLayout } from './layout.js';
import { isSha256Digest } from '../digest.js';
import { platformKey } from './ref-index.js';
import { readJsonFile } from './json-file.js';

/** One layer of an entry, as the manifest and config describe it. */
export interface EntryLayer {
  /** Digest of the blob as stored in the registry (compressed). */
  digest: string;
  /** Digest of the uncompressed tar: the layer store key. */
  diffID: string;
  /** Compressed size in bytes. */
  size: number;
}

/** What the puller hands to `publishEntry`. */
export interface PublishMeta {
  /** Platform-specific manifest digest (the entry key). */
  digest: string;
  /** What the reference pointed at (an index digest for multi-platform images). */
  topDigest?: string;
  platform: Platform | string;
  config: ImageConfig;
  manifest?: ImageManifest;
  layers: EntryLayer[];
  /** Bytes of the rootfs tree, as counted while it was built (so nothing walks it later). */
  size: number;
  /** Opaque record from the composer for later verification; stored beside meta.json. */
  summary?: unknown;
}

/** meta.json of an entry. */
export interface EntryMeta {
  version: 1;
  digest: string;
  topDigest?: string;
  platform: string;
  /** ISO time of publication. */
  created: string;
  size: number;
  config: ImageConfig;
  manifest?: ImageManifest;
  layers: EntryLayer[];
}

/** Checks the puller's input and turns it into what meta.json holds. */
export function toEntryMeta(p: PublishMeta, now = new Date()): EntryMeta {
  checkDigest(p.digest, 'entry digest');
  if (p.topDigest !== undefined) checkDigest(p.topDigest, 'top digest');
  for (const l of p.layers) checkDigest(l.diffID, 'layer diffID');
  if (!Number.isSafeInteger(p.size) || p.size < 0) throw new TypeError(`entry size ${p.size} is not a non-negative integer`);
  const meta: EntryMeta = {
    version: 1,
    digest: p.digest,
    platform: platformKey(p.platform),
    created: now.toISOString(),
    size: p.size,
    config: p.config,
    layers: p.layers.map((l) => ({ digest: l.digest, diffID: l.diffID, size: l.size })),
  };
  if (p.topDigest !== undefined && p.topDigest !== p.digest) meta.topDigest = p.topDigest;
  if (p.manifest !== undefined) meta.manifest = p.manifest;
  return meta;
}

export async function writeEntryMeta(path: string, meta: EntryMeta): Promise<void> {
  await writeFile(path, `${JSON.stringify(meta)}\n`, { mode: 0o600, flag: 'wx' });
}

/** meta.json of an entry, undefined when the entry is absent. */
export async function readEntryMeta(path: string, digest: string): Promise<EntryMeta | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  let meta: Partial<EntryMeta>;
  try {
    meta = JSON.parse(text) as Partial<EntryMeta>;
  } catch (err) {
    throw new CacheCorruptError(path, 'meta.json is not valid JSON', { cause: err });
  }
  if (meta?.version !== 1 || meta.digest !== digest || typeof meta.size !== 'number' || !Array.isArray(meta.layers) || !meta.config) {
    throw new CacheCorruptError(path, `meta.json does not describe ${digest}`);
  }
  return meta as EntryMeta;
}

/** Sidecar record of a published layer. */
export interface LayerRecord {
  diffID: string;
  /** Bytes of the extracted layer, as counted while extracting. */
  size: number;
  created: string;
}

export async function readLayerRecord(path: string): Promise<LayerRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as Partial<LayerRecord>;
    return isSha256Digest(r?.diffID) && typeof r.size === 'number' ? (r as LayerRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The composer's summary an entry recorded at publish (for verification); undefined when none. */
export function readEntrySummary(layout: CacheLayout, digest: string): Promise<unknown> {
  return readJsonFile(layout.entryFile(digest, 'summary'), 'summary.json is not valid JSON');
}
