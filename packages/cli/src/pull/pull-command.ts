// `bbox pull`, start here. A pull reaches runPull (pull-action.ts) by one of three ways in:
// - bin/bbox.js loads dist/pull-entry.cjs, the bundle of pull-entry.ts: a pull the cache alone
//   can answer is answered there (pull-from-cache.ts, with offline-fetcher.ts), without loading
//   the rest of the command line; anything else is handed to dist/main.js;
// - main.ts reads the usual command lines with pull-argv.ts and calls runPull;
// - anything else (help, mistakes) goes through clipanion and this class.
// The options are declared once, in pull-options.ts, for all three.
import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import { PULL_OPTIONS } from './pull-options.js';
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

  pull = stringOption(PULL_OPTIONS.pull);
  noPull = switchOption(PULL_OPTIONS.noPull);
  platform = stringOption(PULL_OPTIONS.platform);
  noRegistryCache = switchOption(PULL_OPTIONS.noRegistryCache);
  json = switchOption(PULL_OPTIONS.json);
  quiet = switchOption(PULL_OPTIONS.quiet);
  refs = Option.Rest({ name: 'REF', required: 1 });

  protected async perform(): Promise<number> {
    const { pull, noPull, platform, noRegistryCache, json, quiet, refs } = this;
    return runPull({ refs, pull, noPull, platform, noRegistryCache, json, quiet, config: this.configFile, cacheDir: this.cacheDir }, this.io());
  }
}
