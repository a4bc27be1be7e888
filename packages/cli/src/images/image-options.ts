import type { OptionDeclarations } from '../command-line/option-declarations.js';

/** Options the image commands (images, inspect, export, cache rm/clone/prune) share, declared once. */
export interface ImageCommandFlags {
  json: boolean;
  platform: string | undefined;
  dryRun: boolean;
}

export const IMAGE_OPTIONS = {
  json: { names: '--json', kind: 'boolean', description: 'Print the result as JSON on stdout and nothing else there' },
  platform: {
    names: '--platform',
    kind: 'string',
    label: 'OS/ARCH[/VARIANT]',
    description: 'Platform of a ref or index digest that was pulled for several (default: this host)',
  },
  dryRun: { names: '-n,--dry-run', kind: 'boolean', description: 'Only report what would be removed; change nothing' },
} as const satisfies OptionDeclarations<ImageCommandFlags>;

/** How a REF|DIGEST argument is described in help. */
export const TARGET_HELP =
  'REF is an image reference as pulled (`alpine:3.20`, `127.0.0.1:5000/app:v1`, `oci-layout:./dir:tag`); DIGEST is a manifest or index digest, or a prefix of one with at least 12 hex digits (`sha256:` optional), as `bbox images` shows. An ambiguous prefix is an error that lists the digests it matches.';
