import { Builtins, Cli, type BaseContext, type CommandClass } from 'clipanion';
import { ExitCode } from '../output/exit-codes.js';
import { didYouMean } from '../output/did-you-mean.js';
import { labelUsage, type UsageParts } from './clipanion-options.js';

/** clipanion's Cli, with each option's value named in help as declared (`--pull POLICY`). */
class BboxCli extends Cli {
  protected override getUsageByIndex(n: number, opts?: { detailed?: boolean; inlineOptions?: boolean }): UsageParts {
    return labelUsage(super.getUsageByIndex(n, opts));
  }
}

type Loader = () => Promise<CommandClass>;

// Each command is loaded only when it is the one asked for: start-up time is part of every pull.
const LOADERS: Record<string, Loader> = {
  pull: async () => (await import('../pull/pull-command.js')).PullCommand,
  run: async () => (await import('../run/command.js')).RunCommand,
  'cache list': async () => (await import('../cache/cache-list-command.js')).CacheListCommand,
  'cache gc': async () => (await import('../cache/cache-gc-command.js')).CacheGcCommand,
  'cache purge': async () => (await import('../cache/cache-purge-command.js')).CachePurgeCommand,
  'cache verify': async () => (await import('../cache/cache-verify-command.js')).CacheVerifyCommand,
  'registry-cache status': async () => (await import('../registry-cache/status-command.js')).RegistryCacheStatusCommand,
  'registry-cache start': async () => (await import('../registry-cache/start-command.js')).RegistryCacheStartCommand,
  'registry-cache stop': async () => (await import('../registry-cache/stop-command.js')).RegistryCacheStopCommand,
  'registry-cache prune': async () => (await import('../registry-cache/prune-command.js')).RegistryCachePruneCommand,
  login: async () => (await import('../login/login-command.js')).LoginCommand,
  logout: async () => (await import('../login/logout-command.js')).LogoutCommand,
  'cache rm': async () => (await import('../cache/cache-rm-command.js')).CacheRmCommand,
  'cache clone': async () => (await import('../cache/cache-clone-command.js')).CacheCloneCommand,
  'cache prune': async () => (await import('../cache/cache-prune-command.js')).CachePruneCommand,
  rmi: async () => (await import('../cache/cache-rm-command.js')).CacheRmCommand,
  images: async () => (await import('../images/images-command.js')).ImagesCommand,
  inspect: async () => (await import('../images/inspect-command.js')).InspectCommand,
  export: async () => (await import('../images/export-command.js')).ExportCommand,
};

// Two-word commands other than `cache …`, each loaded by the first word's loader.
const IMAGE_SUBCOMMANDS: Record<string, string> = { ls: 'images', inspect: 'inspect', export: 'export' };

function requested(argv: string[]): string | undefined {
  if (argv[0] === 'cache') {
    const sub = argv[1] === 'ls' ? 'list' : argv[1];
    return sub && LOADERS[`cache ${sub}`] ? `cache ${sub}` : undefined;
  }
  if (argv[0] === 'registry-cache') {
    const sub = argv[1] === undefined || argv[1].startsWith('-') ? 'status' : argv[1];
    return LOADERS[`registry-cache ${sub}`] ? `registry-cache ${sub}` : undefined;
  }
  if (argv[0] === 'image') return IMAGE_SUBCOMMANDS[argv[1] ?? ''];
  return argv[0] && LOADERS[argv[0]] ? argv[0] : undefined;
}

/**
 * The `bbox` command line: with the one command `argv` names, or with every command when it names
 * none (for `--help`, and for suggestions after a typo).
 */
export async function buildCli(version: string, env: NodeJS.ProcessEnv, argv: string[] = []): Promise<Cli> {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const enableColors = !noColor && process.stdout.isTTY === true && env.TERM !== 'dumb';
  const cli = new BboxCli({ binaryLabel: 'bbox: OCI images as root filesystems and microVMs', binaryName: 'bbox', binaryVersion: version, enableColors });
  const one = requested(argv);
  const loaders = one ? [LOADERS[one]!] : Object.values(LOADERS);
  for (const c of await Promise.all(loaders.map((load) => load()))) cli.register(c);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

const COMMANDS = [
  'pull',
  'run',
  'images',
  'inspect',
  'export',
  'rmi',
  'image ls',
  'image inspect',
  'image export',
  'cache list',
  'cache ls',
  'cache gc',
  'cache purge',
  'cache verify',
  'cache rm',
  'cache clone',
  'cache prune',
  'registry-cache status',
  'registry-cache start',
  'registry-cache stop',
  'registry-cache prune',
  'login',
  'logout',
];

function commandWords(argv: string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  return words[0] === 'cache' || words[0] === 'image' || (words[0] === 'registry-cache' && words[1]) ? words.slice(0, 2).join(' ') : (words[0] ?? '');
}

/** A parse error as one line and a hint, like every other bbox error. */
function usageErrorLines(err: unknown, argv: string[]): string {
  const raw = err instanceof Error ? err.message : String(err);
  const typed = commandWords(argv);
  const known = COMMANDS.includes(typed);
  if (typed === 'cache' && /^Command not found/.test(raw)) {
    const subcommands = COMMANDS.filter((c) => c.startsWith('cache ') && c !== 'cache ls').join(', ');
    return `bbox: cache needs a subcommand: ${subcommands}\nhint: see bbox cache list --help (or gc, purge, verify, rm, clone, prune)\n`;
  }
  if (!known && /^Command not found/.test(raw)) {
    const near = didYouMean(typed, COMMANDS);
    return `bbox: unknown command ${JSON.stringify(typed)}\nhint: ${near ? `did you mean bbox ${near}? ` : ''}see bbox --help for the commands\n`;
  }
  const first = raw.split('\n').find((l) => l.trim() !== '') ?? raw;
  const message = first.replace(/^(Unknown Syntax Error|Usage Error|Internal Error): /, '').replace(/\.$/, '');
  return `bbox: ${message}\nhint: see ${known ? `bbox ${typed} --help` : 'bbox --help'}\n`;
}

/** Parses `argv` and runs the command; returns the exit code. */
export async function runCli(argv: string[], version: string): Promise<number> {
  const env = process.env;
  const cli = await buildCli(version, env, argv);
  const context: BaseContext = { env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, colorDepth: 1 };
  if (argv.length === 0) {
    process.stderr.write(cli.usage(null));
    return ExitCode.usage;
  }
  let command;
  try {
    command = cli.process(argv, context);
  } catch (err) {
    process.stderr.write(usageErrorLines(err, argv));
    return ExitCode.usage;
  }
  return cli.run(command, context);
}
