import type { OptionDeclarations } from '../command-line/option-declarations.js';
import type { ImagesRequest } from './images-action.js';
import { IMAGE_OPTIONS } from './image-options.js';

/** `bbox images`' own options, declared once for ImagesCommand and the start-up parser. */
export const IMAGES_OPTIONS = {
  json: IMAGE_OPTIONS.json,
  orphans: { names: '--orphans', kind: 'boolean', description: 'List only entries no reference points to' },
  all: { names: '-a,--all', kind: 'boolean', description: 'List references, then orphan entries' },
  noTrunc: { names: '--no-trunc', kind: 'boolean', description: 'Show full digests' },
} as const satisfies OptionDeclarations<ImagesRequest>;
