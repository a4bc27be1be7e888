import { Command, Option } from 'clipanion';
import type { RefreshResult } from '@broodbox/image';
import { BboxCommand } from './base-command.js';
import { CliError } from '../errors.js';
import type { Settings } from '../settings.js';
import { createProgress } from '../progress.js';
import { watchInterrupts } from '../interrupt.js';
import { pullJson, pullSummary, type PulledImage } from '../pull-report.js';
import { pullPolicyFlag } from '../pull-policy-flag.js';
import { evictAfterUse } from '../cache-eviction.js';

/** Says where a `never` policy came from: often a config file or BBOX_PULL the user forgot. */
export function explainNotCached(err: unknown, settings: Settings, cacheDir: string): unknown {
  if ((err as { code?: unknown }).code !== 'IMAGE_NOT_CACHED') return err;
  return new CliError((err as Error).message, {
    code: 'IMAGE_NOT_CACHED',
    hint: `the policy ${settings.pull.value} came from ${settings.pull.source}; the cache searched is ${cacheDir}`,
    cause: err,
  });
}

/** `bbox pull`: turns an image reference into a rootfs directory in the cache. */
export class PullCommand extends BboxCommand {
  static override paths = [['pull']];

  static override usage = Command.Usage({
    description: 'Pull an image into the cache as a ready-to-boot root filesystem',
    details: `
      Resolves REF under a pull policy and prints what happened (a cache hit with no network, an unchanged digest, or the layers and bytes fetched) and the rootfs path.

      Policies: \`if-not-present\` (default), \`always\`, \`never\`, \`background\`, \`max-age=<duration>\` (e.g. \`max-age=24h\`); \`missing\`, \`IfNotPresent\`, \`Always\`, \`Never\` are accepted too. \`--no-pull\` is a deprecated spelling of \`--pull never\`.

      A reference pinned by digest (\`name@sha256:…\`) is served from the cache without network whatever the policy, or fetched by digest.

      \`--json\` prints one JSON object on stdout: ref, digest, rootfs, fromCache, policy. \`--quiet\` prints only the rootfs path. Progress is drawn on stderr when it is a terminal.
    `,
    examples: [
      ['Pull an image (no network when it is cached)', '$0 pull alpine:3.20'],
      ['Check the registry for a newer digest', '$0 pull --pull always ghcr.io/org/app:latest'],
      ['Fail unless the image is already cached (offline, CI)', '$0 pull --pull never alpine:3.20'],
      ['Re-check at most once a day', '$0 pull --pull max-age=24h alpine:3.20'],
      ['Machine-readable output', '$0 pull --json 127.0.0.1:5000/app:1.0'],
      ['A pinned digest for another platform', '$0 pull --platform linux/arm64 alpine@sha256:<digest>'],
      ['Use the rootfs path in a script', 'ROOT=$($0 pull -q alpine:3.20)'],
    ],
  });

  pull = Option.String('--pull', { description: 'Pull policy: if-not-present (default), always, never, background, max-age=<duration>' });
  noPull = Option.Boolean('--no-pull', false, { description: 'Deprecated: same as --pull never', hidden: false });
  platform = Option.String('--platform', { description: 'Platform to pull from a multi-platform image: os/arch[/variant] (default: this host)' });
  noRegistryCache = Option.Boolean('--no-registry-cache', false, { description: 'Bypass configured registry mirrors for this pull (also BBOX_DISABLE_REGISTRY_CACHE=true)' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON object on stdout and nothing else there' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'No progress; print only the rootfs path' });
  ref = Option.String({ name: 'REF' });

  protected async perform(): Promise<number> {
    const pull = pullPolicyFlag(this.pull, this.noPull, (m) => this.warn(m));
    const settings = await this.settings({ pull, pullFlag: this.noPull ? '--no-pull' : '--pull', platform: this.platform, noRegistryCache: this.noRegistryCache || undefined });
    const [lib, cache] = await Promise.all([import('@broodbox/image'), this.openCache(settings)]);
    const interrupt = watchInterrupts();
    const progress = createProgress({ stream: process.stderr, env: this.context.env, quiet: this.quiet });
    try {
      const result: PulledImage = await lib.pullWithFetcher(this.ref, {
        cache,
        policy: settings.pull.value,
        ...(settings.platform ? { platform: settings.platform.value } : {}),
        registries: settings.registries,
        noRegistryCache: settings.noRegistryCache.value,
        signal: interrupt.signal,
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      });
      progress.finish();
      const policy = result.policy ?? lib.formatPullPolicy(lib.parsePullPolicy(settings.pull.value));
      this.context.stdout.write(this.json ? pullJson(result, policy) : this.quiet ? `${result.path}\n` : pullSummary(result));
      const keep = [result.digest, ...(await this.awaitRefresh(result.refresh, result.ref))];
      await evictAfterUse(cache, settings, keep, (m) => this.warn(m));
      return 0;
    } catch (err) {
      progress.finish();
      return this.fail(explainNotCached(interrupt.explain(err), settings, cache.dir));
    } finally {
      interrupt.dispose();
    }
  }

  /** `background`: the result is already printed; stay alive until the refresh settles. */
  private async awaitRefresh(refresh: Promise<RefreshResult> | undefined, ref: string): Promise<string[]> {
    if (!refresh) return [];
    const r = await refresh;
    if (!r.ok) {
      this.warn(`background refresh of ${ref} failed, the cached image was kept: ${r.error?.message ?? 'unknown error'}`);
      return [];
    }
    if (r.changed && !this.quiet && !this.json) this.context.stderr.write(`bbox: ${ref} now points to ${r.digest}; the next run will use it\n`);
    return r.digest ? [r.digest] : [];
  }
}
