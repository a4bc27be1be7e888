// Start of `bbox pull`, bundled with what it imports into one CommonJS file (dist/pull-entry.cjs,
// made by scripts/bundle-pull-entry.mjs): a pull answered from the cache is the command run most
// often, and its cost is mostly Node loading modules. Whatever the cache cannot answer goes to
// the full command line, which starts over.
import { parsePullArgv } from './pull-argv.js';
import { exitWhenFlushed } from '../output/exit-when-flushed.js';
import type { PullPolicy } from '@broodbox/image';
import type { PullRequest } from './pull-options.js';

/** Policies that always ask the registry, as documented; their aliases are recognised later, once the library is loaded. */
const REGISTRY_FIRST: ReadonlySet<string> = new Set<PullPolicy['kind']>(['always', 'background']);

/**
 * True when the command line or BBOX_PULL already says that the full command line must run: the
 * policy always asks the registry, or `--no-pull` must print its deprecation warning.
 */
function handOffAtOnce(req: PullRequest, env: NodeJS.ProcessEnv): boolean {
  if (req.noPull || req.refs.length !== 1) return true;
  const policy = req.pull ?? env.BBOX_PULL?.trim();
  // A digest pinned in the reference is served from the cache whatever the policy.
  return policy !== undefined && REGISTRY_FIRST.has(policy) && !req.refs[0]!.includes('@');
}

async function answerFromCache(req: PullRequest): Promise<number | undefined> {
  // Imported on demand: the bundle initialises the library only when the cache may answer.
  const { pullFromCache } = await import('./pull-from-cache.js');
  // stderr is opened only if written to: on a terminal that loads modules a hit does not need.
  const io = {
    stdout: process.stdout,
    get stderr() {
      return process.stderr;
    },
    env: process.env,
    cwd: process.cwd(),
  };
  return pullFromCache(req, io);
}

async function start(): Promise<void> {
  const req = parsePullArgv(process.argv.slice(2));
  const code = req && !handOffAtOnce(req, process.env) ? await answerFromCache(req) : undefined;
  if (code === undefined) await import('../main.js');
  else exitWhenFlushed(code);
}

void start();
