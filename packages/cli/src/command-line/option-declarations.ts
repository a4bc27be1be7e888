import type { OptionKind, OptionTable } from './argv-option.js';

/**
 * One command-line option, declared once: the clipanion command builds its field from it (see
 * clipanion-options.ts) and a start-up parser builds its table from it ({@link optionTable}), so
 * the two cannot disagree on names, kinds or help.
 */
export type OptionDeclaration = ValueOption | SwitchOption;

/** An option that takes a value (`string`: once; `array`: each time it is given). */
export interface ValueOption {
  /** Every name it answers to, clipanion's way: `-e,--env`. */
  names: string;
  kind: 'string' | 'array';
  /** What the value is, shown after the names in help: `--pull POLICY`, `--cache-dir DIR`. */
  label: string;
  description: string;
}

/** A switch: present or not. */
export interface SwitchOption {
  names: string;
  kind: 'boolean';
  description: string;
}

/** A command's options: the field of its request that each one sets → the option. */
export type OptionDeclarations<T> = { readonly [K in keyof T & string]?: OptionDeclaration };

/** The table a start-up parser (readOption) reads: every name of every option → its field and kind. */
export function optionTable<T>(declarations: OptionDeclarations<T>): OptionTable<T> {
  const table: OptionTable<T> = {};
  for (const [field, d] of Object.entries(declarations) as Array<[keyof T & string, OptionDeclaration | undefined]>) {
    if (!d) continue;
    const kind: OptionKind = d.kind;
    for (const name of d.names.split(',')) table[name] = [field, kind];
  }
  return table;
}
