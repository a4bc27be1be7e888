import { readdir } from 'node:fs/promises';
import { isSha256Digest } from '../digest.js';
import { formatReference, parseReference } from 'oci-client-lite/reference';
import { DigestAmbiguousError, ImageNotFoundError } from '../errors/selection-errors.js';
import { InvalidDigestError } from '../errors/cache-errors.js';
import { LAYOUT_PREFIX, LAYOUT_REGISTRY, parseLayoutReference } from '../pull/layout-fetcher.js';
import { cacheInternals, type Cache } from './cache.js';
import { digestFromDirName, type CacheLayout } from './layout.js';
import { listAliases, listRefRecords, platformKey, readAlias, readRefRecord, type AliasRecord, type RefRecord } from './ref-index.js';
import type { PlatformLike } from './cache.js';

/** Fewest hex digits accepted as a digest prefix (as docker shows image ids). */
export const MIN_DIGEST_PREFIX = 12;

const DIGEST_LIKE_RE = /^(?:sha256:)?[0-9a-f]+$/;

/** True when `s` is written as a digest or a digest prefix (`sha256:3f2a…`, `3f2a9c1b7d0e`) rather than a ref. */
export function isDigestLike(s: string): boolean {
  return s.startsWith('sha256:') || (DIGEST_LIKE_RE.test(s) && s.length >= MIN_DIGEST_PREFIX);
}

/** What the cache knows by name: its ref records, aliases and entries. */
export interface CacheNames {
  refs: Array<{ file: string; record: RefRecord }>;
  aliases: Array<{ file: string; record: AliasRecord }>;
  entries: string[];
}

export async function readNames(layout: CacheLayout): Promise<CacheNames> {
  const [refs, aliases, names] = await Promise.all([listRefRecords(layout), listAliases(layout), readdir(layout.images)]);
  return {
    refs: refs.filter((r): r is { file: string; record: RefRecord } => r.record !== undefined),
    aliases: aliases.filter((a): a is { file: string; record: AliasRecord } => a.record !== undefined),
    entries: names.map(digestFromDirName).filter((d): d is string => d !== undefined),
  };
}

/**
 * The full digest a digest or prefix names among the entries, index digests and refs' targets the
 * cache knows. @throws InvalidDigestError for fewer than 12 hex digits; ImageNotFoundError when
 * nothing matches; DigestAmbiguousError (with every candidate) when several do.
 */
export function matchDigest(names: CacheNames, input: string): string {
  const hex = input.replace(/^sha256:/, '');
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 64) throw new InvalidDigestError(input);
  if (hex.length < MIN_DIGEST_PREFIX) {
    throw new InvalidDigestError(input, `digest prefix (at least ${MIN_DIGEST_PREFIX} hex digits)`);
  }
  const known = new Set<string>(names.entries);
  for (const { record } of names.refs) known.add(record.digest).add(record.topDigest);
  for (const { record } of names.aliases) known.add(record.indexDigest);
  const candidates = [...known].filter((d) => d.slice('sha256:'.length).startsWith(hex)).sort();
  if (candidates.length === 0) throw new ImageNotFoundError(input);
  if (candidates.length > 1) throw new DigestAmbiguousError(input, candidates);
  return candidates[0]!;
}

/** A recorded ref as a user writes it: `oci-layout:/abs/dir:tag` for a layout source, else as recorded. */
export function displayRef(recorded: string): string {
  return recorded.startsWith(`${LAYOUT_REGISTRY}/`) ? `${LAYOUT_PREFIX}${recorded.slice(LAYOUT_REGISTRY.length + 1)}` : recorded;
}

/** A ref as the cache records it (normalised, `oci-layout:` sources included). */
export function normaliseRef(ref: string): string {
  return formatReference(ref.startsWith(LAYOUT_PREFIX) ? parseLayoutReference(ref) : parseReference(ref));
}

/**
 * The full digest that a digest or a digest prefix (12 hex digits or more, with or without
 * `sha256:`) names in this cache: an entry's manifest digest, or an index digest a ref pointed at.
 * @throws InvalidDigestError, ImageNotFoundError, DigestAmbiguousError (listing the candidates).
 */
export async function resolveDigest(cache: Cache, digestOrPrefix: string): Promise<string> {
  if (isSha256Digest(digestOrPrefix)) return digestOrPrefix;
  return matchDigest(await readNames(await cacheInternals(cache).layout()), digestOrPrefix);
}

/** Where {@link locateImage} found an image. */
export interface LocatedImage {
  /** The entry: the platform manifest digest. */
  digest: string;
  /** The normalised ref, when a ref was given. */
  ref?: string;
  /** The index digest the ref or digest named, for a multi-platform image. */
  indexDigest?: string;
  platform: string;
}

/**
 * The cached entry that a ref, a digest or a digest prefix (12+ hex digits) names, for `platform`
 * (default the host's), read from the cache's records alone: no network, nothing marked as used.
 * An index digest is followed to the entry it selected for the platform.
 * @throws ImageNotFoundError when the cache holds no entry for it; DigestAmbiguousError, InvalidDigestError.
 */
export async function locateImage(cache: Cache, target: string, opts: { platform?: PlatformLike } = {}): Promise<LocatedImage> {
  const layout = await cacheInternals(cache).layout();
  const platform = platformKey(opts.platform);
  if (isDigestLike(target)) {
    const full = isSha256Digest(target) ? target : matchDigest(await readNames(layout), target);
    const alias = await readAlias(layout, full, platform);
    const digest = alias?.digest ?? full;
    if (!(await cache.hasEntry(digest))) throw new ImageNotFoundError(target);
    return { digest, platform, ...(alias ? { indexDigest: full } : {}) };
  }
  const ref = normaliseRef(target);
  const record = await readRefRecord(layout, ref, platform);
  if (!record || !(await cache.hasEntry(record.digest))) throw new ImageNotFoundError(target);
  return { digest: record.digest, ref: displayRef(ref), platform, ...(record.topDigest !== record.digest ? { indexDigest: record.topDigest } : {}) };
}
