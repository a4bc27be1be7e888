import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Platform } from 'oci-client-lite';
import { formatPlatform, hostPlatform, parsePlatform } from 'oci-client-lite/platform';
import { prepareAtomicWrite, writeFileAtomic, type PreparedWrite } from './atomic-write.js';
import { CacheCorruptError } from '../errors/cache-errors.js';
import { type CacheLayout } from './layout.js';
import { isSha256Digest } from '../digest.js';
import { tmpName } from './tmp-dirs.js';
import { readJsonFile } from './json-file.js';

/** Where a normalised reference pointed when it was last resolved, for one platform. */
export interface RefRecord {
  /** Normalised reference (`docker.io/library/alpine:latest`). */
  ref: string;
  /** `os/arch[/variant]`. */
  platform: string;
  /** Platform-specific manifest digest: the cache entry. */
  digest: string;
  /** What the reference itself pointed at (an index digest for multi-platform images, else = digest). */
  topDigest: string;
  /** When the registry last confirmed this mapping (epoch ms): what `max-age` compares. */
  resolvedAt: number;
}

/** An index digest seen for one platform, and the manifest digest it selected. */
export interface AliasRecord {
  indexDigest: string;
  platform: string;
  digest: string;
}

/**
 * The platform as a stable key: lower case, and `arm64/v8` equal to plain `arm64` (the only
 * arm64 variant images use), so both spellings find one record.
 */
export function platformKey(p: Platform | string | undefined): string {
  const platform = p === undefined ? hostPlatform() : typeof p === 'string' ? parsePlatform(p) : p;
  const s = formatPlatform(platform).toLowerCase();
  return s.endsWith('/arm64/v8') ? s.slice(0, -3) : s;
}

function keyFile(dir: string, ...parts: string[]): string {
  return join(dir, `${createHash('sha256').update(parts.join('\n')).digest('hex')}.json`);
}

export function refFile(layout: CacheLayout, ref: string, platform: string): string {
  return keyFile(layout.refs, ref, platform);
}

export function aliasFile(layout: CacheLayout, indexDigest: string, platform: string): string {
  return keyFile(layout.aliases, indexDigest, platform);
}

function toRefRecord(path: string, v: unknown): RefRecord {
  const r = v as Partial<Record<keyof RefRecord, unknown>> & { resolvedAt?: unknown };
  const resolvedAt = typeof r?.resolvedAt === 'string' ? Date.parse(r.resolvedAt) : NaN;
  if (
    typeof r?.ref !== 'string' ||
    typeof r.platform !== 'string' ||
    !isSha256Digest(r.digest) ||
    !isSha256Digest(r.topDigest) ||
    Number.isNaN(resolvedAt)
  ) {
    throw new CacheCorruptError(path, 'not a ref record');
  }
  return { ref: r.ref, platform: r.platform, digest: r.digest, topDigest: r.topDigest, resolvedAt };
}

/** The record of `ref` for `platform`, undefined when none (or when the file is another ref's). */
export async function readRefRecord(layout: CacheLayout, ref: string, platform: string): Promise<RefRecord | undefined> {
  const path = refFile(layout, ref, platform);
  const v = await readJsonFile(path);
  if (v === undefined) return undefined;
  const rec = toRefRecord(path, v);
  return rec.ref === ref && rec.platform === platform ? rec : undefined;
}

/** Replaces the record atomically. */
export async function writeRefRecord(layout: CacheLayout, rec: RefRecord): Promise<void> {
  await (await prepareRefRecord(layout, rec)).commit();
}

/** {@link writeRefRecord} in two steps: flushed now, in place on `commit`. */
export function prepareRefRecord(layout: CacheLayout, rec: RefRecord): Promise<PreparedWrite> {
  const body = { ...rec, resolvedAt: new Date(rec.resolvedAt).toISOString() };
  return prepareAtomicWrite(refFile(layout, rec.ref, rec.platform), `${JSON.stringify(body, null, 2)}\n`, join(layout.tmp, tmpName('write')));
}

/** @returns true when a record was removed. */
export async function removeRefRecord(layout: CacheLayout, ref: string, platform: string): Promise<boolean> {
  const path = refFile(layout, ref, platform);
  const existed = (await readJsonFile(path)) !== undefined;
  await rm(path, { force: true });
  return existed;
}

/** Every ref record with its file; damaged files are reported as such, not thrown. */
export async function listRefRecords(layout: CacheLayout): Promise<Array<{ file: string; record?: RefRecord }>> {
  return listJson(layout.refs, toRefRecord);
}

function toAliasRecord(path: string, v: unknown): AliasRecord {
  const r = v as Partial<Record<keyof AliasRecord, unknown>>;
  if (!isSha256Digest(r?.indexDigest) || typeof r.platform !== 'string' || !isSha256Digest(r.digest)) {
    throw new CacheCorruptError(path, 'not an alias record');
  }
  return { indexDigest: r.indexDigest, platform: r.platform, digest: r.digest };
}

export async function readAlias(layout: CacheLayout, indexDigest: string, platform: string): Promise<AliasRecord | undefined> {
  const path = aliasFile(layout, indexDigest, platform);
  const v = await readJsonFile(path);
  if (v === undefined) return undefined;
  const rec = toAliasRecord(path, v);
  return rec.indexDigest === indexDigest && rec.platform === platform ? rec : undefined;
}

export async function writeAlias(layout: CacheLayout, rec: AliasRecord): Promise<void> {
  const path = aliasFile(layout, rec.indexDigest, rec.platform);
  await writeFileAtomic(path, `${JSON.stringify(rec, null, 2)}\n`, join(layout.tmp, tmpName('write')));
}

export async function listAliases(layout: CacheLayout): Promise<Array<{ file: string; record?: AliasRecord }>> {
  return listJson(layout.aliases, toAliasRecord);
}

async function listJson<T>(dir: string, parse: (path: string, v: unknown) => T): Promise<Array<{ file: string; record?: T }>> {
  // Read concurrently (each file is small); the order of the listing is kept.
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).map((name) => join(dir, name));
  const read = await Promise.all(
    files.map(async (file): Promise<{ file: string; record?: T } | undefined> => {
      try {
        const v = await readJsonFile(file);
        return v === undefined ? undefined : { file, record: parse(file, v) };
      } catch (err) {
        if (!(err instanceof CacheCorruptError)) throw err;
        return { file };
      }
    }),
  );
  return read.filter((r): r is { file: string; record?: T } => r !== undefined);
}
