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
      Resolves each REF under a pull policy and prints what happened (a cache hit with no network, an unchanged digest, or the layers and bytes fetched), the platform manifest digest, the index digest when REF named a multi-platform image, and the rootfs path. Several REFs are pulled concurrently, one result each; the exit code is that of the first failing REF in the order given.

      REF is a registry reference (\`alpine:3.20\`, \`127.0.0.1:5000/app:1\`, \`name@sha256:…\`) or an OCI image layout directory: \`oci-layout:PATH\`, \`oci-layout:PATH:TAG\` or \`oci-layout:PATH@sha256:…\` (as \`skopeo copy … oci:PATH:TAG\` makes).

      Policies: \`if-not-present\` (default), \`always\`, \`never\`, \`background\`, \`max-age=<duration>\` (e.g. \`max-age=24h\`); \`missing\`, \`IfNotPresent\`, \`Always\`, \`Never\` are accepted too. \`--no-pull\` is a deprecated spelling of \`--pull never\`.

      \`background\` answers from the cache at once and exits; a detached process (one per ref at a time, its log in the cache's refresh/ directory) checks the registry for the next pull. A failed refresh is reported once, as a warning, by the next bbox command.

      A reference pinned by digest (\`name@sha256:…\`) is served from the cache without network whatever the policy, or fetched by digest.

      \`--json\` prints one JSON object per REF on stdout, one a line: ref, digest, indexDigest (multi-platform images only), rootfs, fromCache, policy; with several REFs, a failed one is {ref, error: {code, message}}. \`--quiet\` prints only the rootfs path. Progress is drawn on stderr when it is a terminal.
    `,
    examples: [
      ['Pull an image (no network when it is cached)', '$0 pull alpine:3.20'],
      ['Check the registry for a newer digest', '$0 pull --pull always ghcr.io/org/app:latest'],
      ['Fail unless the image is already cached (offline, CI)', '$0 pull --pull never alpine:3.20'],
      ['Re-check at most once a day', '$0 pull --pull max-age=24h alpine:3.20'],
      ['Machine-readable output', '$0 pull --json 127.0.0.1:5000/app:1.0'],
      ['A pinned digest for another platform', '$0 pull --platform linux/arm64 alpine@sha256:<digest>'],
      ['Use the rootfs path in a script', 'ROOT=$($0 pull -q alpine:3.20)'],
      ['Several images at once', '$0 pull alpine:3.20 busybox:1.36 127.0.0.1:5000/app:1'],
      ['From an OCI image layout directory', '$0 pull oci-layout:./build/layout:v1'],
      ['Answer from the cache now, refresh in the background', '$0 pull --pull background ghcr.io/org/app:latest'],
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
