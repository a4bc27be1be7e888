import { Command } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import { formatBytes } from '../output/byte-size.js';
import { RegistryCacheCommand } from './registry-cache-command.js';

/** `bbox registry-cache prune`: empties the caches (stopping them first). */
export class RegistryCachePruneCommand extends RegistryCacheCommand {
  static override paths = [['registry-cache', 'prune']];

  static override usage = Command.Usage({
    category: 'Registry cache',
    description: 'Remove what the pull-through registry caches hold',
    details: `
      Stops the cache of each UPSTREAM (default: every cache there is, configured or left over) and removes its storage, log and config. A pull that needs it starts it again, empty. The image cache is not touched.

      \`--dry-run\` only says what would be removed. \`--json\` prints {dryRun, bytes, caches: [{upstream, dir, bytes, stopped}]}.
    `,
    examples: [
      ['See what would be freed', '$0 registry-cache prune --dry-run'],
      ['Empty the Docker Hub cache', '$0 registry-cache prune docker.io'],
    ],
  });

  dryRun = switchOption({ names: '--dry-run', kind: 'boolean', description: 'Only report what would be removed' });

  protected async perform(): Promise<number> {
    const caches = await this.caches();
    const pruned = await caches.prune({ dryRun: this.dryRun, ...(this.selected() ? { only: this.selected()! } : {}) });
    const bytes = pruned.reduce((n, p) => n + p.bytes, 0);
    const verb = this.dryRun ? 'would free' : 'freed';
    const lines = pruned.map((p) => `${p.upstream}: ${verb} ${formatBytes(p.bytes)}${p.stopped ? (this.dryRun ? ' (would stop it)' : ' (stopped)') : ''}\n`);
    const text = lines.join('') + `${this.dryRun ? 'Would free' : 'Freed'} ${formatBytes(bytes)} in total.\n`;
    this.print({ dryRun: this.dryRun, bytes, caches: pruned }, text);
    return 0;
  }
}
