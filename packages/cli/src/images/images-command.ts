import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { switchOption } from '../command-line/clipanion-options.js';
import { IMAGES_OPTIONS } from './images-options.js';
import { runImages } from './images-action.js';

/** `bbox images`: one row per cached ref, as `docker images` lists them. */
export class ImagesCommand extends BboxCommand {
  static override paths = [['images'], ['image', 'ls']];

  static override usage = Command.Usage({
    category: 'Images',
    description: 'List cached images by repository and tag',
    details: `
      Shows one row per cached reference (and platform): REPOSITORY, TAG, DIGEST, CREATED (when the image was built), SIZE (of its rootfs, as recorded when it was built) and LAST USED. DIGEST is the digest the reference points at: for a multi-platform image, the index digest (docker's repo digest); its first 12 hex digits are accepted wherever bbox takes a digest.

      Give REPOSITORY (as you would pull it: \`alpine\`, \`127.0.0.1:5000/app\`; \`*\` matches any characters, as in \`'127.0.0.1:5000/*'\`) to list only those. \`--orphans\` lists entries that no reference points to (\`bbox cache gc\` removes them); \`--all\` lists both.

      It reads small metadata files only, never an image's files: it stays fast with hundreds of images. \`bbox cache list\` shows the same cache by entry, with totals.
    `,
    examples: [
      ['List cached images', '$0 images'],
      ['Only one repository', '$0 images 127.0.0.1:5000/app'],
      ['Entries no reference points to', '$0 images --orphans'],
      ['Full digests, as JSON', '$0 images --json'],
    ],
  });

  json = switchOption(IMAGES_OPTIONS.json);
  orphans = switchOption(IMAGES_OPTIONS.orphans);
  all = switchOption(IMAGES_OPTIONS.all);
  noTrunc = switchOption(IMAGES_OPTIONS.noTrunc);
  repositories = Option.Rest({ name: 'REPOSITORY' });

  protected async perform(): Promise<number> {
    const { json, orphans, all, noTrunc, repositories } = this;
    return runImages({ json, orphans, all, noTrunc, repositories, config: this.configFile, cacheDir: this.cacheDir }, this.io());
  }
}
