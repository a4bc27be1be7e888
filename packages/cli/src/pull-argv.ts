import type { PullRequest } from './pull-action.js';

const STRING_FLAGS: Record<string, 'pull' | 'platform' | 'config' | 'cacheDir'> = {
  '--pull': 'pull',
  '--platform': 'platform',
  '--config': 'config',
  '--cache-dir': 'cacheDir',
};

const BOOLEAN_FLAGS: Record<string, 'noPull' | 'noRegistryCache' | 'json' | 'quiet'> = {
  '--no-pull': 'noPull',
  '--no-registry-cache': 'noRegistryCache',
  '--json': 'json',
  '--quiet': 'quiet',
  '-q': 'quiet',
};

/**
 * Reads the common shapes of `bbox pull …` without loading the full command-line parser, which
 * would cost more than the rest of a warm pull. Anything unusual (help, a repeated or unknown
 * option, a missing value, a second positional) returns undefined and goes through the full
 * parser, which also produces the error messages. A test keeps both parsers in agreement.
 */
export function parsePullArgv(argv: string[]): PullRequest | undefined {
  if (argv[0] !== 'pull') return undefined;
  const req: PullRequest = { ref: '', pull: undefined, noPull: false, platform: undefined, noRegistryCache: false, json: false, quiet: false, config: undefined, cacheDir: undefined };
  const seen = new Set<string>();
  let ref: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const stringKey = STRING_FLAGS[name];
    const boolKey = BOOLEAN_FLAGS[name];
    if (stringKey || boolKey) {
      if (seen.has(stringKey ?? boolKey!)) return undefined;
      seen.add(stringKey ?? boolKey!);
    }
    if (stringKey) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
      req[stringKey] = value;
    } else if (boolKey && eq < 0) {
      req[boolKey] = true;
    } else if (!arg.startsWith('-') && ref === undefined) {
      ref = arg;
    } else {
      return undefined;
    }
  }
  if (ref === undefined) return undefined;
  req.ref = ref;
  return req;
}
