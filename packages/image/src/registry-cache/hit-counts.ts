import { readFile } from 'node:fs/promises';
import { readStored } from './stored-log.js';

/** What a cache served, counted from its own log. */
export interface HitCounts {
  /** Blob downloads answered from the cache's storage, without the upstream. */
  hits: number;
  /**
   * Blobs the cache did not hold: those it fetched from the upstream itself, and those bbox fetched
   * from the upstream and stored into it.
   */
  misses: number;
  /** Bytes of blobs served from storage. */
  bytesFromCache: number;
}

const ID = /http\.request\.id=([\w-]+)/;
const URI = /http\.request\.uri="?([^"\s]+)/;
const STATUS = /http\.response\.status=(\d+)/;
const WRITTEN = /http\.response\.written=(\d+)/;
const BLOB_GET = /^\/v2\/.+\/blobs\/[a-z0-9]+:[a-f0-9]+$/;

/**
 * Counts blob hits and misses in distribution's log. Every request's lines carry its request id;
 * a request that contacted the upstream logs "Challenge established with upstream" (distribution
 * 2.8) under that id before it completes, and one served from storage does not.
 */
export function countHits(log: string): HitCounts {
  const upstream = new Set<string>();
  const counts: HitCounts = { hits: 0, misses: 0, bytesFromCache: 0 };
  for (const line of log.split('\n')) {
    if (line.includes('with upstream')) {
      const id = ID.exec(line)?.[1];
      if (id) upstream.add(id);
      continue;
    }
    if (!line.includes('msg="response completed"') || !line.includes('http.request.method=GET')) continue;
    const uri = URI.exec(line)?.[1] ?? '';
    if (STATUS.exec(line)?.[1] !== '200' || !BLOB_GET.test(uri.split('?')[0] ?? '')) continue;
    const id = ID.exec(line)?.[1];
    if (id && upstream.has(id)) counts.misses++;
    else {
      counts.hits++;
      counts.bytesFromCache += Number(WRITTEN.exec(line)?.[1] ?? 0);
    }
  }
  return counts;
}

/** Hit counts over the cache's log and its rotated predecessor, plus the blobs bbox stored into it (`storedLog`). */
export async function readHitCounts(logFile: string, storedLog?: string): Promise<HitCounts> {
  const read = (f: string) => readFile(f, 'utf8').catch(() => '');
  const [old, cur, stored] = await Promise.all([read(`${logFile}.1`), read(logFile), storedLog ? readStored(storedLog) : []]);
  const counts = countHits(`${old}\n${cur}`);
  return { ...counts, misses: counts.misses + stored.length };
}
