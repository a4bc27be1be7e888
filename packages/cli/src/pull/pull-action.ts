import { ImageError, type Cache, type RefreshResult } from '@broodbox/image';
import { CliError } from '../output/errors.js';
import { reportError, warn, type CommandIo } from '../output/command-io.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { reportPull } from './pull-report.js';
import { pullPolicyFlag } from './pull-policy-flag.js';
import { pullOptionsFrom } from './library-pull-options.js';
import type { ProgressReporter } from './progress.js';
import type { PullRequest } from './pull-options.js';


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

/** `background`: the result is already printed; stay alive until the refresh settles. */
async function awaitRefresh(refresh: Promise<RefreshResult> | undefined, ref: string, req: PullRequest, io: CommandIo): Promise<string[]> {
  if (!refresh) return [];
  const r = await refresh;
  if (!r.ok) {
    warn(io, `background refresh of ${ref} failed, the cached image was kept: ${r.error?.message ?? 'unknown error'}`);
    return [];
  }
  if (r.changed && !req.quiet && !req.json) io.stderr.write(`bbox: ${ref} now points to ${r.digest}; the next run will use it\n`);
  return r.digest ? [r.digest] : [];
}

async function evict(cache: Cache, settings: Settings, keep: string[], io: CommandIo): Promise<void> {
  if (settings.cacheMaxAge === undefined && settings.cacheMaxBytes === undefined) return;
  const { evictAfterUse } = await import('../cache/cache-eviction.js');
  await evictAfterUse(cache, settings, keep, (m) => warn(io, m));
}

type ImageLib = typeof import('@broodbox/image');

async function pullWith(req: PullRequest, io: CommandIo, settings: Settings, loading: Promise<ImageLib>): Promise<number> {
  const lib = await loading;
  const cache = new lib.Cache(settings.cacheDir?.value);
  const interrupt = watchInterrupts();
  const progress = await progressFor(req, io);
  try {
    const result = await lib.pullWithFetcher(req.ref, {
      ...pullOptionsFrom(settings, cache, interrupt.signal),
      ...(progress?.onProgress ? { onProgress: progress.onProgress } : {}),
    });
    progress?.finish();
    reportPull(io, result, result.policy, req);
    const keep = [result.digest, ...(await awaitRefresh(result.refresh, result.ref, req, io))];
    await evict(cache, settings, keep, io);
    return 0;
  } catch (err) {
    progress?.finish();
    return reportError(io, explainNotCached(interrupt.explain(err), settings, cache.dir));
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
