import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheCorruptError } from '../errors/cache-errors.js';
import { digestFromDirName, ENTRY_FILES, type CacheLayout } from './layout.js';
import { readEntryMeta, readLayerRecord, type EntryMeta } from './entry-meta.js';
import { heldDigests } from './holds.js';
import { listAliases, listRefRecords, type AliasRecord, type RefRecord } from './ref-index.js';

/** One rootfs entry as `list` reports it; built from small metadata files only. */
export interface EntryInfo {
  /** Manifest digest. */
  digest: string;
  /** The rootfs directory (read-only by contract). */
  path: string;
  /** The entry directory (rootfs, metadata, artifacts). */
  dir: string;
  /** Rootfs bytes as recorded at publish, plus the artifacts' sizes. */
  size: number;
  rootfsSize: number;
  lastUsed: Date;
  /** When the entry was published in this cache. */
  created: Date;
  /** When the image was built (`created` of its config), when it says. */
  imageCreated?: Date;
  /** Normalised refs pointing at this entry (`ref` or `ref (platform)` for other platforms). */
  refs: string[];
  /** No ref points at it: `gc` removes it. */
  orphan: boolean;
  /** A live process holds it. */
  held: boolean;
  platform?: string;
  /** Files beside the rootfs made by other components (e.g. a VM disk image). */
  artifacts: string[];
  hasDisk: boolean;
  /** meta.json is missing or unreadable: the entry cannot be served; `gc` removes it. */
  corrupt: boolean;
  /** Layer diffIDs the entry was built from. */
  layers: string[];
}

/** One extracted layer of the layer store. */
export interface LayerInfo {
  diffID: string;
  path: string;
  /** Bytes recorded at publish (0 when the record is missing). */
  size: number;
  /** Entries built from it. */
  usedBy: string[];
  held: boolean;
}

export interface Inventory {
  entries: EntryInfo[];
  layers: LayerInfo[];
  refs: Array<{ file: string; record?: RefRecord }>;
  aliases: Array<{ file: string; record?: AliasRecord }>;
  held: Set<string>;
}

const OWN_FILES = new Set<string>(Object.values(ENTRY_FILES));

async function mtimeOr<T extends Date | undefined>(path: string, fallback: T): Promise<Date | T> {
  try {
    return (await stat(path)).mtime;
  } catch {
    return fallback;
  }
}

// Every file below is small and independent of the others: they are read concurrently, so a
// listing costs a few round trips through the I/O pool rather than one per file.

async function artifactsOf(dir: string): Promise<{ names: string[]; bytes: number }> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => !OWN_FILES.has(name));
  const sizes = await Promise.all(
    names.map((name) =>
      lstat(join(dir, name)).then(
        // Blocks, not the length: a VM disk is a sparse file far larger than what it holds.
        (s) => (s.isFile() ? Math.min(s.size, s.blocks * 512) : 0),
        () => 0,
      ),
    ),
  );
  return { names, bytes: sizes.reduce((a, b) => a + b, 0) };
}

async function readMeta(layout: CacheLayout, digest: string): Promise<EntryMeta | undefined> {
  try {
    return await readEntryMeta(layout.entryFile(digest, 'meta'), digest);
  } catch (err) {
    if (err instanceof CacheCorruptError) return undefined;
    throw err;
  }
}

async function entryInfo(layout: CacheLayout, digest: string, held: Set<string>): Promise<EntryInfo> {
  const dir = layout.entryDir(digest);
  const [meta, artifacts, dirTime, usedTime] = await Promise.all([
    readMeta(layout, digest),
    artifactsOf(dir),
    mtimeOr(dir, new Date(0)),
    mtimeOr(join(dir, ENTRY_FILES.lastUsed), undefined),
  ]);
  const created = meta ? new Date(meta.created) : dirTime;
  const rootfsSize = meta?.size ?? 0;
  const info: EntryInfo = {
    digest,
    path: join(dir, ENTRY_FILES.rootfs),
    dir,
    size: rootfsSize + artifacts.bytes,
    rootfsSize,
    lastUsed: usedTime ?? created,
    created,
    refs: [],
    orphan: true,
    held: held.has(digest),
    artifacts: artifacts.names,
    hasDisk: artifacts.names.some((n) => n.startsWith('disk')),
    corrupt: meta === undefined,
    layers: meta ? meta.layers.map((l) => l.diffID) : [],
  };
  if (meta) info.platform = meta.platform;
  const built = typeof meta?.config.created === 'string' ? new Date(meta.config.created) : undefined;
  if (built && !Number.isNaN(built.getTime())) info.imageCreated = built;
  return info;
}

async function layerInfos(layout: CacheLayout, held: Set<string>): Promise<LayerInfo[]> {
  const diffIDs = (await readdir(layout.layers)).map(digestFromDirName).filter((d): d is string => d !== undefined);
  return Promise.all(
    diffIDs.map(async (diffID) => {
      const record = await readLayerRecord(layout.layerRecord(diffID));
      return { diffID, path: layout.layerDir(diffID), size: record?.size ?? 0, usedBy: [], held: held.has(diffID) };
    }),
  );
}

/**
 * Everything `list`, `gc`, `evict` and `purge` decide from: entries, layers, refs, aliases and
 * holds, read from metadata files (no walk of any rootfs or layer tree).
 */
export async function readInventory(layout: CacheLayout, opts: { hostPlatform: string; dryRun?: boolean }): Promise<Inventory> {
  const [held, names] = await Promise.all([heldDigests(layout, opts.dryRun ? { dryRun: true } : {}), readdir(layout.images)]);
  const digests = names.map(digestFromDirName).filter((d): d is string => d !== undefined);
  const [entries, refs, layers, aliases] = await Promise.all([
    Promise.all(digests.map((d) => entryInfo(layout, d, held))),
    listRefRecords(layout),
    layerInfos(layout, held),
    listAliases(layout),
  ]);
  const byDigest = new Map(entries.map((e) => [e.digest, e]));
  for (const { record } of refs) {
    const e = record && byDigest.get(record.digest);
    if (!e) continue;
    e.refs.push(record.platform === opts.hostPlatform ? record.ref : `${record.ref} (${record.platform})`);
    e.orphan = false;
  }
  const byLayer = new Map(layers.map((l) => [l.diffID, l]));
  for (const e of entries) for (const d of new Set(e.layers)) byLayer.get(d)?.usedBy.push(e.digest);
  return { entries, layers, refs, aliases, held };
}
