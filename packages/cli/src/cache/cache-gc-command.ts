import { Command } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import { BboxCommand } from '../command-line/base-command.js';
import { formatBytes } from '../output/byte-size.js';
import { shortDigest } from './cache-table.js';

/** `bbox cache gc`: removes what no image reference needs. */
export class CacheGcCommand extends BboxCommand {
  static override paths = [['cache', 'gc']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Remove cached images and layers that nothing refers to',
    details: `
      Removes rootfs entries that no image reference points to (orphans), layers that no remaining entry needs, work directories left by interrupted pulls, and VM root disks this host no longer boots from (where the root is shared over virtio-fs, and those of older versions). What a running pull or VM holds is never removed.

      \`--dry-run\` shows what would be removed and the bytes it would free, and changes nothing.
    `,
    examples: [
      ['See what would be removed', '$0 cache gc --dry-run'],
      ['Remove it', '$0 cache gc'],
      ['As JSON', '$0 cache gc --json'],
    ],
  });

  dryRun = switchOption({ names: '-n,--dry-run', kind: 'boolean', description: 'Only report what would be removed' });
  json = switchOption({ names: '--json', kind: 'boolean', description: 'Print the result as one JSON object' });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    // Root disks this host no longer boots from (the root is shared, or an older version made them) go too.
    const { vmArtifactNeeded } = await import('@broodbox/vmm');
    const report = await cache.gc({ dryRun: this.dryRun, artifactNeeded: await vmArtifactNeeded() });
    const removed = report.removed.map((r) => ({ kind: r.kind, id: r.id, bytes: r.bytes }));
    if (this.json) {
      const skipped = report.skipped.map((r) => ({ kind: r.kind, id: r.id, reason: r.reason }));
      this.context.stdout.write(JSON.stringify({ dryRun: this.dryRun, removed, skipped, bytesFreed: report.bytesFreed }) + '\n');
      return 0;
    }
    const verb = this.dryRun ? 'Would remove' : 'Removed';
    const skippedNote = report.skipped.length > 0 ? `Left ${report.skipped.length} in use by a running pull or VM.\n` : '';
    if (removed.length === 0) {
      this.context.stdout.write(`Nothing to remove in ${cache.dir}.\n${skippedNote}`);
      return 0;
    }
    const lines = removed.map((r) => `  ${r.kind.padEnd(6)} ${r.id.startsWith('sha256:') ? shortDigest(r.id) : r.id}  ${formatBytes(r.bytes)}`);
    const freed = this.dryRun ? 'would free' : 'freed';
    this.context.stdout.write(`${verb}:\n${lines.join('\n')}\n${verb} ${removed.length} item${removed.length === 1 ? '' : 's'}, ${freed} ${formatBytes(report.bytesFreed)}.\n${skippedNote}`);
    return 0;
  }
}
