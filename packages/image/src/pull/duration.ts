import { ImageError } from '../errors/image-error.js';

/**
 * What {@link parseDuration} reads, for messages and help: the one duration syntax of bbox, in the
 * library and in every CLI flag, variable and config key that takes a duration.
 */
export const DURATION_FORMS = 'a number and a unit (ms, s, m, h, d, w; any case), combined like 1h30m (e.g. 30s, 15m, 24h, 7d)';

/** A duration string that {@link parseDuration} cannot read. */
export class InvalidDurationError extends ImageError {
  readonly value: string;
  constructor(value: string, detail: string) {
    super(
      'INVALID_DURATION',
      `invalid duration ${JSON.stringify(value)}: ${detail}; write ${DURATION_FORMS}`,
    );
    this.value = value;
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
/** Beyond this a duration is a typo, not a cache age (and would lose precision as a number). */
const MAX_MS = 100 * 365 * UNIT_MS.d!;

/**
 * Parses `30s`, `15m`, `24h`, `7d`, `2w`, `500ms` and combinations like `1h30m` into milliseconds.
 * Units are case-insensitive (`24H` is `24h`, `1H30M` is `1h30m`): a config file and a flag read the
 * same text the same way. `0` alone is accepted. A bare number with no unit is refused as ambiguous.
 */
export function parseDuration(input: string): number {
  const s = input.trim().toLowerCase();
  if (s === '') throw new InvalidDurationError(input, 'it is empty');
  if (s === '0') return 0;
  PART_RE.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let m = PART_RE.exec(s); m; m = PART_RE.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = PART_RE.lastIndex;
  }
  if (end !== s.length) {
    const rest = s.slice(end);
    const detail = /^\d+(\.\d+)?$/.test(rest) ? `${JSON.stringify(rest)} has no unit` : `cannot read ${JSON.stringify(rest)}`;
    throw new InvalidDurationError(input, detail);
  }
  if (total > MAX_MS) throw new InvalidDurationError(input, 'it is longer than 100 years');
  return Math.round(total);
}

/** Formats milliseconds the way {@link parseDuration} reads them, largest units first (`1h30m`, `7d`). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration ${ms} ms is not a finite non-negative number`);
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
