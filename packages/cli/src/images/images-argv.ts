import { readOption } from '../command-line/argv-option.js';
import { optionTable } from '../command-line/option-declarations.js';
import { COMMON_OPTIONS } from '../command-line/common-options.js';
import { IMAGES_OPTIONS } from './images-options.js';
import type { ImagesRequest } from './images-action.js';

const OPTIONS = optionTable<ImagesRequest>({ ...COMMON_OPTIONS, ...IMAGES_OPTIONS });

/**
 * Reads the usual `bbox images …` command lines without loading the full parser, which costs
 * more than the listing. Anything unusual (help, an unknown or repeated option) returns undefined
 * and goes through the full parser. A test keeps both parsers in agreement.
 */
export function parseImagesArgv(argv: string[]): ImagesRequest | undefined {
  if (argv[0] !== 'images') return undefined;
  const req: ImagesRequest = { json: false, orphans: false, all: false, noTrunc: false, repositories: [], config: undefined, cacheDir: undefined };
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      req.repositories.push(arg);
      continue;
    }
    const last = readOption(argv, i, OPTIONS, req, seen);
    if (last === undefined) return undefined;
    i = last;
  }
  return req;
}
