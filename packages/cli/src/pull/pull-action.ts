import { resolve as resolvePath } from 'node:path';
import { ImageError, type Cache, type PullOptions } from '@broodbox/image';
import { CliError } from '../output/errors.js';
import { reportError, warn, type CommandIo } from '../output/command-io.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { reportPull } from './pull-report.js';
import { pullPolicyFlag } from './pull-policy-flag.js';
import { pullOptionsFrom } from './library-pull-options.js';
import type { ProgressReporter } from './progress.js';
import type { PullRequest } from './pull-options.js';
import { registryCacheOption } from '../registry-cache/pull-hook.js';
import { indexDigestOf } from './index-digest.js';
import { reportFailedRefreshes } from './refresh-failures.js';


/** Says where a `never` policy came from: often a config file or BBOX_PULL the user forgot. */
function explainNotCached(err: unknown, settings: Settings, cacheDir: string): unknown {
  if (!(err instanceof ImageError) || err.code !== 'IMAGE_NOT_CACHED') return err;
  return new CliError(err.message, {
    code: 'IMAGE_NOT_CACHED',
    hint: `the policy ${settings.pull.value} came from ${settings.pull.source}; the cache searched is ${cacheDir}`,
    cause: err,
  });
}

async function progressFor(req: PullRequest, io: CommandIo): Promise<ProgressReporter | undefined> {
  const stream = process.stderr;
  if (req.quiet || io.stderr !== stream || !stream.isTTY) return undefined;
  const { createProgress } = await import('./progress.js');
  return createProgress({ stream, env: io.env, quiet: req.quiet });
}

/** A pinned digest is served from the cache whatever the policy: there is nothing to refresh. */
function pinned(ref: string): boolean {
  return ref.includes('@');
}

/**
 * `background` on the command line: the cache answers now (the library is asked under
 * `if-not-present`, so a ref not yet cached is pulled in the foreground), and a cache hit starts a
 * detached refresh that outlives this command.
 */
function refreshInBackground(settings: Settings, ref: string, lib: ImageLib): boolean {
  return lib.parsePullPolicy(settings.pull.value).kind === 'background' && !pinned(ref);
}

async function evict(cache: Cache, settings: Settings, keep: string[], io: CommandIo): Promise<void> {
  if (settings.cacheMaxAge === undefined && settings.cacheMaxBytes === undefined) return;
  const { evictAfterUse } = await import('../cache/cache-eviction.js');
  await evictAfterUse(cache, settings, keep, (m) => warn(io, m));
}

type ImageLib = typeof import('@broodbox/image');

/** One ref's pull, printed when it is done; the exit code, and the digest to keep from eviction. */
async function pullOne(ref: string, req: PullRequest, io: CommandIo, settings: Settings, lib: ImageLib, cache: Cache, signal: AbortSignal, progress: ProgressReporter | undefined, extra: Partial<PullOptions>) {
  const background = refreshInBackground(settings, ref, lib);
  const result = await lib.pullWithFetcher(ref, {
    ...pullOptionsFrom(settings, cache, signal),
    ...extra,
    ...(background ? { policy: 'if-not-present' } : {}),
    ...(progress?.onProgress ? { onProgress: progress.onProgress } : {}),
  });
  progress?.finish();
  const indexDigest = await indexDigestOf(cache, result, settings.platform?.value);
  reportPull(io, { result, policy: background ? 'background' : result.policy, indexDigest }, req);
  if (background && result.fromCache && !result.stats.network) {
    const { startBackgroundRefresh } = await import('./background-refresh.js');
    startBackgroundRefresh({
      ref: result.ref,
      platform: settings.platform?.value,
      cacheDir: resolvePath(io.cwd, cache.dir),
      flags: { config: req.config, noRegistryCache: req.noRegistryCache || undefined },
      cwd: io.cwd,
    });
  }
  return result.digest;
}

/** A failed ref among several, as a JSON line: stdout then has one line per ref. */
function failureJson(ref: string, err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return JSON.stringify({ ref, error: { code: typeof e?.code === 'string' ? e.code : null, message: typeof e?.message === 'string' ? e.message : String(err) } }) + '\n';
}

async function pullWith(req: PullRequest, io: CommandIo, settings: Settings, loading: Promise<ImageLib>): Promise<number> {
  const lib = await loading;
  const cache = new lib.Cache(settings.cacheDir?.value);
  const interrupt = watchInterrupts();
  // One progress display needs one pull: several refs print only their results.
  const progress = req.refs.length === 1 ? await progressFor(req, io) : undefined;
  await reportFailedRefreshes(cache.dir, io);
  try {
    // The registry caches are opened once for every ref of the command.
    const extra = await registryCacheOption(settings, io);
    const outcomes = await Promise.all(
      req.refs.map(async (ref) => {
        try {
          return { code: 0, digest: await pullOne(ref, req, io, settings, lib, cache, interrupt.signal, progress, extra) };
        } catch (err) {
          progress?.finish();
          const code = reportError(io, explainNotCached(interrupt.explain(err), settings, cache.dir));
          if (req.json && req.refs.length > 1) io.stdout.write(failureJson(ref, err));
          return { code, digest: undefined };
        }
      }),
    );
    const kept = outcomes.map((o) => o.digest).filter((d): d is string => d !== undefined);
    if (kept.length > 0) await evict(cache, settings, kept, io);
    // The exit code of the first failure, in the order the refs were given.
    return outcomes.find((o) => o.code !== 0)?.code ?? 0;
  } finally {
    interrupt.dispose();
  }
}

/** Runs `bbox pull` and returns the exit code; every error is reported on stderr. */
export async function runPull(req: PullRequest, io: CommandIo): Promise<number> {
  // The library loads while the settings are resolved.
  const loading = import('@broodbox/image');
  loading.catch(() => undefined);
  try {
    const pull = pullPolicyFlag(req.pull, req.noPull, (m) => warn(io, m));
    const settings = await resolveSettings(
      { pull, pullFlag: req.noPull ? '--no-pull' : '--pull', platform: req.platform, noRegistryCache: req.noRegistryCache || undefined, config: req.config, cacheDir: req.cacheDir },
      { cwd: io.cwd, env: io.env },
    );
    return await pullWith(req, io, settings, loading);
  } catch (err) {
    return reportError(io, err);
  }
}
