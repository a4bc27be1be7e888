const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** The accepted forms, for messages. */
export const DURATION_FORMS = 'a number with a unit: ms, s, m, h, d, w (e.g. 90m, 24h, 7d, 1d12h)';

/** Parses `90m`, `24h`, `7d`, `1d12h` into milliseconds; undefined when it is not a duration. */
export function parseDuration(input: string): number | undefined {
  const s = input.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * unitMs[m[2]!]!;
  return total > 0 ? total : undefined;
}
