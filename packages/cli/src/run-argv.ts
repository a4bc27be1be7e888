import { readOption, type OptionTable } from './command-line/argv-option.js';
import type { RunArgs } from './run-action.js';

const OPTIONS: OptionTable<RunArgs> = {
  '--pull': ['pull', 'string'],
  '--config': ['config', 'string'],
  '--cache-dir': ['cacheDir', 'string'],
  '--cpus': ['cpus', 'string'],
  '--memory': ['memory', 'string'],
  '-w': ['workdir', 'string'],
  '--workdir': ['workdir', 'string'],
  '-u': ['user', 'string'],
  '--user': ['user', 'string'],
  '--timeout': ['timeout', 'string'],
  '--accel': ['accel', 'string'],
  '-e': ['env', 'array'],
  '--env': ['env', 'array'],
  '-v': ['volumes', 'array'],
  '--volume': ['volumes', 'array'],
  '--no-registry-cache': ['noRegistryCache', 'boolean'],
  '--net': ['net', 'boolean'],
};

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
    const last = readOption(argv, i, OPTIONS, args, seen);
    if (last === undefined) return undefined;
    i = last;
  }
  return undefined;
}

/** REF and what follows it: nothing, or `--` and the command. */
function withCommand(args: RunArgs, ref: string, rest: string[]): RunArgs | undefined {
  if (rest.length > 0 && rest[0] !== '--') return undefined;
  return { ...args, ref, command: rest.slice(1) };
}
