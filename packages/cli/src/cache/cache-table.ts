import { formatBytes } from '../output/byte-size.js';
import { formatAgo } from '../output/relative-time.js';

/** One cache entry as `bbox cache list` shows it. */
export interface ListedEntry {
  digest: string;
  /** Apparent size of the rootfs plus the entry's own artifacts (its VM disk image). */
  size: number;
  /** Apparent size of the rootfs alone: its files are hardlinks into the layer store. */
  rootfsSize?: number;
  lastUsed: Date | number | string | undefined;
  refs: string[];
  orphan: boolean;
  /** A running pull or VM uses it. */
  held?: boolean;
  /** Its metadata is unreadable; gc removes it. */
  corrupt?: boolean;
}

/** The whole listing. */
export interface Listing {
  dir: string;
  entries: ListedEntry[];
  layerStoreBytes: number;
}

/** `sha256:3f2a…` → `3f2a9c1b7d0e` (12 hex digits, as docker shows image ids). */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function imageColumn(e: ListedEntry): string {
  const marks = [e.held ? '(in use)' : '', e.corrupt ? '(damaged metadata)' : ''].filter(Boolean).join(' ');
  const refs = e.orphan || e.refs.length === 0 ? '(orphan)' : e.refs[0] + (e.refs.length > 1 ? ` (+${e.refs.length - 1} more)` : '');
  return marks ? `${refs} ${marks}` : refs;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd() + '\n').join('');
}

/** Totals of a listing. Rootfs files are hardlinks into the layer store, so they are not counted twice on disk. */
export function listingTotals(l: Listing): { rootfsBytes: number; artifactBytes: number; layerStoreBytes: number; totalBytes: number } {
  const rootfsBytes = l.entries.reduce((n, e) => n + (e.rootfsSize ?? e.size), 0);
  const artifactBytes = l.entries.reduce((n, e) => n + (e.size - (e.rootfsSize ?? e.size)), 0);
  return { rootfsBytes, artifactBytes, layerStoreBytes: l.layerStoreBytes, totalBytes: l.layerStoreBytes + artifactBytes };
}

/** The summary line: entries, orphans, rootfs total, layer store, total on disk. */
export function listingSummary(l: Listing): string {
  const t = listingTotals(l);
  const orphans = l.entries.filter((e) => e.orphan).length;
  const n = l.entries.length;
  const disks = t.artifactBytes > 0 ? `, VM disks ${formatBytes(t.artifactBytes)}` : '';
  return (
    `${n} ${n === 1 ? 'entry' : 'entries'}, ${orphans} ${orphans === 1 ? 'orphan' : 'orphans'}; ` +
    `rootfs ${formatBytes(t.rootfsBytes)} (files shared with the layer store), layer store ${formatBytes(t.layerStoreBytes)}${disks}, ` +
    `total on disk ${formatBytes(t.totalBytes)}`
  );
}

/** The human-readable listing: most recently used first. */
export function formatListing(l: Listing, now = Date.now()): string {
  if (l.entries.length === 0) return `The cache at ${l.dir} holds no images.\n${listingSummary(l)}\n`;
  const time = (e: ListedEntry) => (e.lastUsed === undefined ? 0 : new Date(e.lastUsed).getTime());
  const sorted = [...l.entries].sort((a, b) => time(b) - time(a));
  const rows = [['DIGEST', 'SIZE', 'LAST USED', 'IMAGE']];
  for (const e of sorted) rows.push([shortDigest(e.digest), formatBytes(e.size), formatAgo(e.lastUsed, now), imageColumn(e)]);
  return table(rows) + listingSummary(l) + '\n';
}
