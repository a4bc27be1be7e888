import { Option } from 'clipanion';
import type { SwitchOption, ValueOption } from './option-declarations.js';

// clipanion 3 shows a value option as `--pull #0` in help and has no way to name the value; the
// labels declared with each option are kept here and put in place of `#0` (see labelUsage).
const labels = new Map<string, string>();

function remember(d: ValueOption): void {
  const known = labels.get(d.names);
  if (known !== undefined && known !== d.label) throw new Error(`option ${d.names} is declared with two labels: ${known}, ${d.label}`);
  labels.set(d.names, d.label);
}

/** The clipanion field of an option that takes one value. */
export function stringOption(d: ValueOption & { kind: 'string' }): string | undefined {
  remember(d);
  return Option.String(d.names, { description: d.description });
}

/** The clipanion field of an option that takes a value each time it is given. */
export function arrayOption(d: ValueOption & { kind: 'array' }): string[] | undefined {
  remember(d);
  return Option.Array(d.names, { description: d.description });
}

/** The clipanion field of a switch (false unless given). */
export function switchOption(d: SwitchOption): boolean {
  return Option.Boolean(d.names, false, { description: d.description });
}

/** What clipanion computes for a command's usage line and option list. */
export interface UsageParts {
  usage: string;
  options: Array<{ definition: string; description: string; required: boolean }>;
}

function labelled(text: string): string {
  return text.replace(/(^|[[<\s])([-\w,]+) #0(?=$|[\]>\s])/g, (m: string, before: string, names: string) => {
    const label = labels.get(names);
    return label === undefined ? m : `${before}${names} ${label}`;
  });
}

/** Usage with each option's value named by its declared label: `--pull POLICY`, not `--pull #0`. */
export function labelUsage(parts: UsageParts): UsageParts {
  return { usage: labelled(parts.usage), options: parts.options.map((o) => ({ ...o, definition: labelled(o.definition) })) };
}
