import { Command } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import { BboxCommand } from '../command-line/base-command.js';
import { CliError } from '../output/errors.js';
import { ExitCode } from '../output/exit-codes.js';
import { formatBytes } from '../output/byte-size.js';
import { canAsk, confirm } from '../output/confirm.js';

/** `bbox cache purge`: empties the image cache. */
export class CachePurgeCommand extends BboxCommand {
  static override paths = [['cache', 'purge']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Remove every cached image and layer',
    details: `
      Empties the image cache. On a terminal it asks for confirmation first; elsewhere (scripts, CI) it refuses unless \`--force\` is given. What a running pull or VM holds is left in place.
    `,
    examples: [
      ['Empty the cache, asking first', '$0 cache purge'],
      ['Empty it without asking (scripts)', '$0 cache purge --force'],
    ],
  });

  force = switchOption({ names: '-f,--force', kind: 'boolean', description: 'Do not ask for confirmation' });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    if (!this.force) {
      if (!canAsk()) {
        throw new CliError(`refusing to purge the cache at ${cache.dir} without confirmation`, {
          code: 'PURGE_NEEDS_FORCE',
          exitCode: ExitCode.usage,
          hint: 'pass --force to purge without a terminal to confirm on',
        });
      }
      if (!(await confirm(`Remove every cached image in ${cache.dir}?`))) {
        this.context.stderr.write('Nothing removed.\n');
        return ExitCode.failure;
      }
    }
    const report = await cache.purge();
    this.context.stdout.write(`Purged ${cache.dir}: ${formatBytes(report.bytesFreed)} freed.\n`);
    if (report.skipped.length > 0) {
      this.context.stdout.write(`Left ${report.skipped.length} item${report.skipped.length === 1 ? '' : 's'} that a running pull or VM uses; bbox cache gc removes them once released.\n`);
    }
    return 0;
  }
}
