const steps: Array<[number, string]> = [
  [60_000, 'min'],
  [3_600_000, 'h'],
  [86_400_000, 'd'],
];

/** `5 min ago`, `3 h ago`, `12 d ago`, `just now`, or `never` for an absent time. */
export function formatAgo(when: Date | number | string | undefined, now = Date.now()): string {
  if (when === undefined) return 'never';
  const t = when instanceof Date ? when.getTime() : typeof when === 'string' ? Date.parse(when) : when;
  if (!Number.isFinite(t)) return 'unknown';
  const age = now - t;
  if (age < 60_000) return 'just now';
  let label = 'min';
  let unit = 60_000;
  for (const [ms, name] of steps) {
    if (age >= ms) {
      unit = ms;
      label = name;
    }
  }
  return `${Math.floor(age / unit)} ${label} ago`;
}
