/** How a start-up parser reads an option: one value, a value each time it is given, or a switch. */
export type OptionKind = 'string' | 'array' | 'boolean';

/** Option words (`--cache-dir`, `-e`) → the field they set and how. */
export type OptionTable<T> = Record<string, [keyof T & string, OptionKind]>;

/**
 * Reads the option at `argv[i]` into `into`, the way the full parser would for the forms the
 * start-up parsers accept: `--name value`, `--name=value`, `-x value`, a switch without a value,
 * and repeats only for `array` options. Returns the index of the last word used, or undefined for
 * anything else (an unknown option, a repeat, a missing value, `--switch=…`), which the caller
 * leaves to the full parser. `seen` tracks fields already set across calls.
 */
export function readOption<T>(argv: string[], i: number, table: OptionTable<T>, into: T, seen: Set<string>): number | undefined {
  const arg = argv[i]!;
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  const rule = table[eq > 0 ? arg.slice(0, eq) : arg];
  if (!rule) return undefined;
  const [key, kind] = rule;
  const fields = into as Record<string, unknown>;
  if (kind !== 'array') {
    if (seen.has(key)) return undefined;
    seen.add(key);
  }
  if (kind === 'boolean') {
    if (eq > 0) return undefined;
    fields[key] = true;
    return i;
  }
  const value = eq > 0 ? arg.slice(eq + 1) : argv[i + 1];
  if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
  if (kind === 'array') ((fields[key] ??= []) as string[]).push(value);
  else fields[key] = value;
  return eq > 0 ? i : i + 1;
}
