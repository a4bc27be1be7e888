import { Cache, parsePullPolicy, pullWithFetcher, type PullPolicy } from '@broodbox/image';
import type { PullRequest } from './pull-options.js';
import { reportError, type CommandIo } from '../output/command-io.js';
import { resolveSettings } from '../config/settings.js';
import { pullOptionsFrom } from './library-pull-options.js';
import { reportPull } from './pull-report.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { offlineFetcher } from './offline-fetcher.js';
import { indexDigestOf } from './index-digest.js';
import { reportFailedRefreshes } from './refresh-failures.js';

/** Policies that a cached tag can satisfy without the registry (`max-age` while it is fresh). */
const CACHE_FIRST: ReadonlySet<PullPolicy['kind']> = new Set(['if-not-present', 'never', 'max-age']);

/**
 * Answers `bbox pull` from the cache alone, through the library's own pull with a fetcher that
 * refuses every request. Returns undefined whenever the full command must run instead: the image
 * is not cached (or not fresh), the policy always asks the registry, the command has more to do
 * than print (eviction, the `--no-pull` deprecation warning), or anything fails. Nothing is
 * printed until the answer is known, so the full command then starts over as if this had not run.
 */
export async function pullFromCache(req: PullRequest, io: CommandIo): Promise<number | undefined> {
  if (req.noPull) return undefined;
  const interrupt = watchInterrupts();
  try {
    const settings = await resolveSettings(
      { pull: req.pull, platform: req.platform, noRegistryCache: req.noRegistryCache || undefined, config: req.config, cacheDir: req.cacheDir },
      { cwd: io.cwd, env: io.env },
    );
    // A digest pinned in the reference is served from the cache whatever the policy.
    const ref = req.refs[0]!;
    if (req.refs.length !== 1 || (!CACHE_FIRST.has(parsePullPolicy(settings.pull.value).kind) && !ref.includes('@'))) return undefined;
    if (settings.cacheMaxAge !== undefined || settings.cacheMaxBytes !== undefined) return undefined;
    const cache = new Cache(settings.cacheDir?.value);
    const result = await pullWithFetcher(ref, { ...pullOptionsFrom(settings, cache, interrupt.signal), fetcher: offlineFetcher() });
    const indexDigest = await indexDigestOf(cache, result, settings.platform?.value);
    await reportFailedRefreshes(cache.dir, io);
    reportPull(io, { result, policy: result.policy, indexDigest }, req);
    return 0;
  } catch (err) {
    // Ctrl-C must stop the command, not start the full pull.
    return interrupt.exitCode() === undefined ? undefined : reportError(io, interrupt.explain(err));
  } finally {
    interrupt.dispose();
  }
}
