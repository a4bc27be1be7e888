import type { PullResult } from '@broodbox/image';
import { formatBytes } from '../output/byte-size.js';
import { warn, type CommandIo } from '../output/command-io.js';

/** How `bbox pull` prints its result. */
export interface PullOutputMode {
  json: boolean;
  quiet: boolean;
}

/** A finished pull and what the command adds to the library's result. */
export interface PullReport {
  result: PullResult;
  /** The policy as the user asked for it. */
  policy: string;
  /** The index digest, when the ref named a multi-platform image. */
  indexDigest?: string | undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One phrase saying what the pull did: a cache hit, an unchanged digest, or what was fetched. */
export function describePull(r: PullResult): string {
  const s = r.stats;
  if (r.fromCache && !s.network) return 'cache hit, no network used';
  if (s.unchanged) return 'digest unchanged, reused the cached rootfs';
  if (s.layersFetched === 0) return r.fromCache ? 'up to date, reused the cached rootfs' : 'built from layers already held, nothing downloaded';
  const reused = s.layersReused ? `, ${plural(s.layersReused, 'layer')} reused` : '';
  return `pulled ${plural(s.layersFetched, 'layer')}, ${formatBytes(s.bytesFetched)}${reused}`;
}

/** The human-readable report printed on stdout after a pull. */
export function pullSummary(r: PullResult, indexDigest?: string): string {
  const index = indexDigest ? `  index   ${indexDigest}\n` : '';
  return `${r.ref}: ${describePull(r)}\n  digest  ${r.digest}\n${index}  rootfs  ${r.path}\n`;
}

/**
 * The `--json` object: exactly these keys, in this order (`indexDigest` only when the ref named
 * an index), then `warnings` when the pull had any.
 */
export function pullJson(r: PullResult, policy: string, indexDigest?: string): string {
  const warnings = r.stats.warnings?.map((w) => ({ code: w.code, message: w.message }));
  const base = { ref: r.ref, digest: r.digest, ...(indexDigest ? { indexDigest } : {}), rootfs: r.path, fromCache: r.fromCache, policy };
  return JSON.stringify(warnings?.length ? { ...base, warnings } : base) + '\n';
}

/**
 * Prints a finished pull: the result on stdout as the mode asks, and each warning on stderr,
 * except with `--json`, whose object carries them (a script reads one stream).
 */
export function reportPull(io: CommandIo, report: PullReport, mode: PullOutputMode): void {
  const r = report.result;
  io.stdout.write(mode.json ? pullJson(r, report.policy, report.indexDigest) : mode.quiet ? `${r.path}\n` : pullSummary(r, report.indexDigest));
  if (!mode.json) warnPull(io, r);
}

/** Prints each warning of a finished pull on stderr (`bbox: warning: …`). */
export function warnPull(io: CommandIo, r: PullResult): void {
  for (const w of r.stats.warnings ?? []) warn(io, w.message);
}
