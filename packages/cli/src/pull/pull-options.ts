import type { OptionDeclarations } from '../command-line/option-declarations.js';
import type { CommonFlags } from '../command-line/common-options.js';

/** `bbox pull`'s options, however they were parsed (clipanion, or the start-up parser). */
export interface PullRequest extends CommonFlags {
  /** One or more references, pulled concurrently. */
  refs: string[];
  pull: string | undefined;
  noPull: boolean;
  platform: string | undefined;
  noRegistryCache: boolean;
  json: boolean;
  quiet: boolean;
}

/**
 * `bbox pull`'s own options, declared once: PullCommand's fields and the start-up parser's
 * table (pull-argv.ts) are both made from this.
 */
export const PULL_OPTIONS = {
  pull: {
    names: '--pull',
    kind: 'string',
    label: 'POLICY',
    description: 'Pull policy: if-not-present (default), always, never, background, max-age=<duration>',
  },
  noPull: { names: '--no-pull', kind: 'boolean', description: 'Deprecated: same as --pull never' },
  platform: {
    names: '--platform',
    kind: 'string',
    label: 'OS/ARCH[/VARIANT]',
    description: 'Platform to pull from a multi-platform image (default: this host)',
  },
  noRegistryCache: {
    names: '--no-registry-cache',
    kind: 'boolean',
    description: 'Bypass the registry caches and configured mirrors for this pull (also BBOX_DISABLE_REGISTRY_CACHE=true)',
  },
  json: { names: '--json', kind: 'boolean', description: 'Print one JSON object per REF on stdout (one a line) and nothing else there' },
  quiet: { names: '-q,--quiet', kind: 'boolean', description: 'No progress; print only the rootfs path' },
} as const satisfies OptionDeclarations<PullRequest>;
