import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { IMAGE_OPTIONS, TARGET_HELP } from '../images/image-options.js';

/** `bbox cache clone`: a private writable copy of a cached rootfs. */
export class CacheCloneCommand extends BboxCommand {
  static override paths = [['cache', 'clone']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Copy a cached rootfs into a directory you can change',
    details: `
      Makes a private, writable copy of a cached image's rootfs at DIR, which must not exist or be an empty directory outside the cache. The cached rootfs is read-only by contract (its files are shared with the layer store); the copy is yours to change.

      Where the filesystem supports it the copy is made of reflinks (copy-on-write: instant, no extra space until changed), otherwise it is a full copy; never hardlinks. Modes, owners (when run as root), modification times, symlinks and the image's own hardlinks are kept. The image is protected from \`gc\` and \`rm\` while it is copied.

      ${TARGET_HELP} The image must be cached.
    `,
    examples: [
      ['A writable copy of an image', '$0 cache clone 127.0.0.1:5000/app:v1 ./app-rootfs'],
      ['By digest prefix, as JSON', '$0 cache clone --json 3f2a9c1b7d0e /tmp/rootfs'],
    ],
  });

  platform = stringOption(IMAGE_OPTIONS.platform);
  json = switchOption(IMAGE_OPTIONS.json);
  target = Option.String({ name: 'REF|DIGEST' });
  dest = Option.String({ name: 'DIR' });

  protected async perform(): Promise<number> {
    const settings = await this.settings({ ...(this.platform ? { platform: this.platform } : {}) });
    const cache = await this.openCache(settings);
    const { locateImage } = await import('@broodbox/image');
    const platform = settings.platform?.value;
    const found = await locateImage(cache, this.target, platform ? { platform } : {});
    const interrupt = watchInterrupts();
    try {
      const r = await cache.clone(found.digest, resolve(process.cwd(), this.dest), { signal: interrupt.signal });
      const out = { digest: found.digest, ...(found.ref ? { ref: found.ref } : {}), path: r.path, method: r.method };
      this.context.stdout.write(this.json ? JSON.stringify(out) + '\n' : `Cloned ${found.ref ?? found.digest} into ${r.path} (${r.method === 'reflink' ? 'reflinks, copy-on-write' : 'full copy'}).\n`);
      return 0;
    } catch (err) {
      throw interrupt.explain(err);
    } finally {
      interrupt.dispose();
    }
  }
}
