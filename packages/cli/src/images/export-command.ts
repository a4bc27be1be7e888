import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { UsageError } from '../output/errors.js';
import { IMAGE_OPTIONS, TARGET_HELP } from './image-options.js';

/** `bbox export`: a cached rootfs as a tar stream. */
export class ExportCommand extends BboxCommand {
  static override paths = [['export'], ['image', 'export']];

  static override usage = Command.Usage({
    category: 'Images',
    description: "Write a cached image's flattened rootfs as a tar archive",
    details: `
      Writes the root filesystem of a cached image as one tar archive (POSIX pax), like \`docker export\` or \`crane export\`: \`tar -x\` of it (as root, with \`--same-owner -p --numeric-owner\`), or \`docker import\`, gives the same tree as the rootfs.

      Owners, modes, modification times and extended attributes are the image's own, as its layers recorded them, not those of the files on this host. Paths are relative; the root directory itself is not in the archive, so extracting does not change the directory you extract into. Files hardlinked within the image are tar hardlinks. Symlinks are archived as symlinks, never followed. Device nodes and FIFOs, which a bbox rootfs never holds, are not in it either.

      ${TARGET_HELP} The image must be cached (\`bbox pull\` it first). With \`-o FILE\`, \`--json\` prints what was written; without it stdout carries the archive.
    `,
    examples: [
      ['Extract a rootfs into a directory', '$0 export 127.0.0.1:5000/app:v1 | sudo tar -x -C ./rootfs --same-owner -p --numeric-owner'],
      ['Into a file', '$0 export -o app.tar 127.0.0.1:5000/app:v1'],
      ['Import it into docker', '$0 export alpine:3.20 | docker import - alpine-flat'],
    ],
  });

  output = stringOption({ names: '-o,--output', kind: 'string', label: 'FILE', description: 'Write the archive to FILE (- or none: stdout)' });
  platform = stringOption(IMAGE_OPTIONS.platform);
  json = switchOption({ ...IMAGE_OPTIONS.json, description: 'With -o FILE: print what was written as one JSON object' });
  target = Option.String({ name: 'REF|DIGEST' });

  protected async perform(): Promise<number> {
    const toStdout = this.output === undefined || this.output === '-';
    if (toStdout && (this.context.stdout as NodeJS.WriteStream).isTTY) {
      throw new UsageError('refusing to write a tar archive to a terminal', 'redirect stdout (| tar -x …, > file.tar) or pass -o FILE');
    }
    if (toStdout && this.json) throw new UsageError('--json needs -o FILE: stdout carries the archive');
    const settings = await this.settings({ ...(this.platform ? { platform: this.platform } : {}) });
    const cache = await this.openCache(settings);
    const lib = await import('@broodbox/image');
    const platform = settings.platform?.value;
    const found = await lib.locateImage(cache, this.target, platform ? { platform } : {});
    const interrupt = watchInterrupts();
    try {
      const tar = await lib.exportRootfs(cache, found.digest, { signal: interrupt.signal });
      if (toStdout) {
        try {
          await pipeline(tar, this.context.stdout);
        } catch (err) {
          // The reader stopped early (`| tar -t | head`): what it read was its choice, not a failure.
          if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        }
        return 0;
      }
      // Written aside and renamed: an interrupted export leaves no truncated archive under FILE.
      const file = this.output!;
      const part = `${file}.part-${process.pid}`;
      let bytes = 0;
      tar.on('data', (b: Buffer) => (bytes += b.length));
      try {
        await pipeline(tar, createWriteStream(part, { flags: 'wx' }));
        await rename(part, file);
      } catch (err) {
        await rm(part, { force: true });
        throw err;
      }
      if (this.json) this.context.stdout.write(JSON.stringify({ digest: found.digest, ...(found.ref ? { ref: found.ref } : {}), file, bytes }) + '\n');
      return 0;
    } catch (err) {
      throw interrupt.explain(err);
    } finally {
      interrupt.dispose();
    }
  }
}
