import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { runPull } from './pull-action.js';

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
    return runPull(
      {
        ref: this.ref,
        pull: this.pull,
        noPull: this.noPull,
        platform: this.platform,
        noRegistryCache: this.noRegistryCache,
        json: this.json,
        quiet: this.quiet,
        config: this.configFile,
        cacheDir: this.cacheDir,
      },
      this.io(),
    );
  }
}
