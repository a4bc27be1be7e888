import type { ImageRow } from '@broodbox/image';
import { formatBytes } from '../output/byte-size.js';
import { formatAgo } from '../output/relative-time.js';
import { shortDigest } from '../cache/cache-table.js';

/** A row of `bbox images --json`: dates as ISO strings. */
export function imageJson(r: ImageRow): Record<string, unknown> {
  return {
    ref: r.ref ?? null,
    repository: r.repository ?? null,
    tag: r.tag ?? null,
    platform: r.platform,
    digest: r.digest,
    indexDigest: r.indexDigest ?? null,
    created: r.created?.toISOString() ?? null,
    cached: r.cached.toISOString(),
    size: r.size,
    lastUsed: r.lastUsed.toISOString(),
    resolvedAt: r.resolvedAt?.toISOString() ?? null,
    held: r.held,
    orphan: r.orphan,
  };
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd() + '\n').join('');
}

/**
 * The `bbox images` table: REPOSITORY, TAG, DIGEST (the one docker shows as the repo digest: the
 * index digest of a multi-platform image, else the manifest digest), CREATED, SIZE, LAST USED.
 */
export function formatImages(rows: ImageRow[], host: string, opts: { noTrunc: boolean }, now = Date.now()): string {
  const out = [['REPOSITORY', 'TAG', 'DIGEST', 'CREATED', 'SIZE', 'LAST USED']];
  for (const r of rows) {
    const digest = r.indexDigest ?? r.digest;
    const tag = (r.tag ?? '<none>') + (r.platform !== host ? ` (${r.platform})` : '') + (r.held ? ' (in use)' : '');
    out.push([
      r.repository ?? '<orphan>',
      r.orphan ? '<none>' : tag,
      opts.noTrunc ? digest : shortDigest(digest),
      r.created ? formatAgo(r.created, now) : 'unknown',
      formatBytes(r.size),
      formatAgo(r.lastUsed, now),
    ]);
  }
  return columns(out);
}
