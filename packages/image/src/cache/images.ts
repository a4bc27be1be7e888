import { parseReference } from 'oci-client-lite/reference';
import { LAYOUT_REGISTRY } from '../pull/layout-fetcher.js';
import { displayRef } from './image-select.js';
import { cacheInternals, type Cache } from './cache.js';
import type { EntryInfo } from './inventory.js';
import { platformKey } from './ref-index.js';

/** One row of {@link listImages}: a ref and the entry it points at, or an entry no ref points at. */
export interface ImageRow {
  /** The normalised ref (`127.0.0.1:5000/app:v1`); undefined for an orphan entry. */
  ref?: string;
  /** `registry/repository` of the ref (`oci-layout:/abs/dir` for a layout source). */
  repository?: string;
  tag?: string;
  /** The platform the ref was resolved for (`linux/amd64`). */
  platform: string;
  /** The entry: the platform manifest digest. */
  digest: string;
  /** The index digest the ref pointed at, for a multi-platform image. */
  indexDigest?: string;
  /** When the image was built (its config's `created`), when it says. */
  created?: Date;
  /** When the entry was put in this cache. */
  cached: Date;
  /** Rootfs bytes as recorded when it was built, plus the entry's artifacts (a VM disk). */
  size: number;
  lastUsed: Date;
  /** When the registry last confirmed where the ref points (refs only). */
  resolvedAt?: Date;
  /** A running pull or VM uses the entry. */
  held: boolean;
  /** No ref points at the entry. */
  orphan: boolean;
}

/** Options of {@link listImages}. */
export interface ListImagesOptions {
  /** `exclude` (default): refs only; `include`: refs, then a row per orphan entry; `only`: orphan entries only. */
  orphans?: 'exclude' | 'include' | 'only';
  /**
   * Keep refs of these repositories only: a name as given on the command line (`alpine` is
   * `docker.io/library/alpine`), or a pattern with `*` matched against `registry/repository`.
   */
  repositories?: string[];
}

function repositoryMatcher(patterns: string[] | undefined): ((repo: string) => boolean) | undefined {
  if (!patterns?.length) return undefined;
  const tests = patterns.map((p) => {
    if (p.includes('*')) {
      const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
      return (repo: string) => re.test(repo);
    }
    const r = parseReference(p);
    const name = `${r.registry}/${r.repository}`;
    return (repo: string) => repo === name;
  });
  return (repo) => tests.some((t) => t(repo));
}

function splitRef(ref: string): { repository: string; tag?: string } {
  if (ref.startsWith(`${LAYOUT_REGISTRY}/`)) {
    const m = /^(.*?)(?::([^/:@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(ref.slice(LAYOUT_REGISTRY.length + 1))!;
    return { repository: `oci-layout:${m[1]}`, ...(m[2] ? { tag: m[2] } : {}) };
  }
  const r = parseReference(ref);
  return { repository: `${r.registry}/${r.repository}`, ...(r.tag ? { tag: r.tag } : {}) };
}

function entryRow(e: EntryInfo): Omit<ImageRow, 'platform' | 'orphan'> {
  return {
    digest: e.digest,
    ...(e.imageCreated ? { created: e.imageCreated } : {}),
    cached: e.created,
    size: e.size,
    lastUsed: e.lastUsed,
    held: e.held,
  };
}

/**
 * One row per cached ref (and platform), like `docker images`: repository, tag, digests, when the
 * image was built, its size and last use; optionally orphan entries too. Reads the cache's small
 * metadata files only (ref records and each entry's meta.json), never a rootfs tree. Sorted by
 * repository, then tag, then platform; orphans last, most recently used first.
 */
export async function listImages(cache: Cache, opts: ListImagesOptions = {}): Promise<ImageRow[]> {
  const layout = await cacheInternals(cache).layout();
  const host = platformKey(undefined);
  // Loaded on demand, like the rest of the cache's maintenance: a cached pull never lists.
  const { readInventory } = await import('./inventory.js');
  const inv = await readInventory(layout, { hostPlatform: host, dryRun: true });
  const byDigest = new Map(inv.entries.map((e) => [e.digest, e]));
  const keep = repositoryMatcher(opts.repositories);
  const rows: ImageRow[] = [];
  if (opts.orphans !== 'only') {
    for (const { record } of inv.refs) {
      const e = record && byDigest.get(record.digest);
      if (!record || !e) continue;
      const { repository, tag } = splitRef(record.ref);
      if (keep && !keep(repository)) continue;
      rows.push({
        ref: displayRef(record.ref),
        repository,
        ...(tag ? { tag } : {}),
        platform: record.platform,
        ...entryRow(e),
        ...(record.topDigest !== record.digest ? { indexDigest: record.topDigest } : {}),
        resolvedAt: new Date(record.resolvedAt),
        orphan: false,
      });
    }
    rows.sort((a, b) => cmp(a.repository, b.repository) || cmp(a.tag, b.tag) || cmp(a.platform, b.platform));
  }
  if (opts.orphans === 'include' || opts.orphans === 'only') {
    const orphans = inv.entries.filter((e) => e.orphan).sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
    for (const e of orphans) rows.push({ platform: e.platform ?? host, ...entryRow(e), orphan: true });
  }
  return rows;
}

function cmp(a: string | undefined, b: string | undefined): number {
  return (a ?? '').localeCompare(b ?? '');
}
