import type { OptionDeclarations } from './option-declarations.js';

/** What every command's request carries besides its own options. */
export interface CommonFlags {
  config: string | undefined;
  cacheDir: string | undefined;
}

/** `--config` and `--cache-dir`, which every bbox command takes. */
export const COMMON_OPTIONS = {
  config: {
    names: '--config',
    kind: 'string',
    label: 'FILE',
    description: 'Config file to use instead of the project one (.broodbox.yaml found from the working directory up)',
  },
  cacheDir: {
    names: '--cache-dir',
    kind: 'string',
    label: 'DIR',
    description: 'Image cache directory (default: $BBOX_CACHE_DIR, then cache.dir from config, then $XDG_CACHE_HOME/broodbox/images)',
  },
} as const satisfies OptionDeclarations<CommonFlags>;
