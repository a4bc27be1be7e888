import type { RunArgs } from './run-action.js';

type StringKey = 'pull' | 'config' | 'cacheDir' | 'cpus' | 'memory' | 'workdir' | 'user' | 'timeout' | 'accel';
type ArrayKey = 'env' | 'volumes';

const STRING_FLAGS: Record<string, StringKey> = {
  '--pull': 'pull',
  '--config': 'config',
  '--cache-dir': 'cacheDir',
  '--cpus': 'cpus',
  '--memory': 'memory',
  '-w': 'workdir',
  '--workdir': 'workdir',
  '-u': 'user',
  '--user': 'user',
  '--timeout': 'timeout',
  '--accel': 'accel',
};

const ARRAY_FLAGS: Record<string, ArrayKey> = { '-e': 'env', '--env': 'env', '-v': 'volumes', '--volume': 'volumes' };

const BOOLEAN_FLAGS: Record<string, 'noRegistryCache' | 'net'> = { '--no-registry-cache': 'noRegistryCache', '--net': 'net' };

/**
 * Reads the common shapes of `bbox run [OPTIONS] REF [-- CMD ARG…]` without loading the full
 * command-line parser, whose set-up alone costs tens of milliseconds before every VM. Anything
 * unusual (help, a repeated or unknown option, a missing value, words after REF without `--`)
 * returns undefined and goes through the full parser, which also produces the error messages.
 * A test keeps both parsers in agreement.
 */
export function parseRunArgv(argv: string[]): RunArgs | undefined {
  if (argv[0] !== 'run') return undefined;
  const args: RunArgs = { ref: '', command: [], pull: undefined, noRegistryCache: false, config: undefined, cacheDir: undefined, net: false };
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) return withCommand(args, arg, argv.slice(i + 1));
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const boolKey = BOOLEAN_FLAGS[name];
    if (boolKey) {
      if (eq > 0 || seen.has(boolKey)) return undefined;
      seen.add(boolKey);
      args[boolKey] = true;
      continue;
    }
    const key = STRING_FLAGS[name] ?? ARRAY_FLAGS[name];
    if (!key) return undefined;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    if (key === 'env' || key === 'volumes') (args[key] ??= []).push(value);
    else {
      if (seen.has(key)) return undefined;
      seen.add(key);
      args[key] = value;
    }
  }
  return undefined;
}

/** REF and what follows it: nothing, or `--` and the command. */
function withCommand(args: RunArgs, ref: string, rest: string[]): RunArgs | undefined {
  if (rest.length > 0 && rest[0] !== '--') return undefined;
  return { ...args, ref, command: rest.slice(1) };
}
