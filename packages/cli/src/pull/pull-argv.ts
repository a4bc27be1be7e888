import { readOption } from '../command-line/argv-option.js';
import { optionTable } from '../command-line/option-declarations.js';
import { COMMON_OPTIONS } from '../command-line/common-options.js';
import { PULL_OPTIONS, type PullRequest } from './pull-options.js';

/** The same options as PullCommand's, from the same declarations. */
const OPTIONS = optionTable<PullRequest>({ ...COMMON_OPTIONS, ...PULL_OPTIONS });

/**
 * Reads the common shapes of `bbox pull …` without loading the full command-line parser, which
 * would cost more than the rest of a warm pull. Anything unusual (help, a repeated or unknown
 * option, a missing value) returns undefined and goes through the full
 * parser, which also produces the error messages. A test keeps both parsers in agreement.
 */
export function parsePullArgv(argv: string[]): PullRequest | undefined {
  if (argv[0] !== 'pull') return undefined;
  const req: PullRequest = { refs: [], pull: undefined, noPull: false, platform: undefined, noRegistryCache: false, json: false, quiet: false, config: undefined, cacheDir: undefined };
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      req.refs.push(arg);
      continue;
    }
    const last = readOption(argv, i, OPTIONS, req, seen);
    if (last === undefined) return undefined;
    i = last;
  }
  return req.refs.length === 0 ? undefined : req;
}
