import { Command } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import type { OptionDeclarations } from '../command-line/option-declarations.js';
import { IMAGE_OPTIONS } from '../images/image-options.js';
import { BYTE_SIZE_FORMS, formatBytes, parseByteSize } from '../output/byte-size.js';
import { UsageError } from '../output/errors.js';
import { shortDigest } from './cache-table.js';

const PRUNE_OPTIONS = {
  olderThan: {
    names: '--older-than',
    kind: 'string',
    label: 'DURATION',
    description: 'Remove images not used for longer than this (30m, 12h, 7d, 2w)',
  },
  maxSize: {
    names: '--max-size',
    kind: 'string',
    label: 'BYTES',
    description: 'Then remove least recently used images until the cache fits in this size (20GiB, 500MB)',
  },
} as const satisfies OptionDeclarations<{ olderThan: string | undefined; maxSize: string | undefined }>;

/** `bbox cache prune`: least-recently-used eviction by age and/or size, on demand. */
export class CachePruneCommand extends BboxCommand {
  static override paths = [['cache', 'prune']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Remove images not used for a while, or until the cache fits a size',
    details: `
      Removes least recently used images: those not used for longer than \`--older-than\`, then, oldest use first, as many as it takes for images and layers to fit in \`--max-size\`. The references of a removed image go with it, then the layers no remaining image needs. Give one or both. Images a running pull or VM uses are kept.

      This is the eviction that \`cache.maxAge\` and \`cache.maxBytes\` in the config apply after each pull, run once with the limits given here.

      \`--dry-run\` shows what would be removed and the bytes it would free, and changes nothing.
    `,
    examples: [
      ['Remove images unused for two weeks', '$0 cache prune --older-than 14d'],
      ['Shrink the cache to 20 GiB, first seeing what goes', '$0 cache prune --max-size 20GiB --dry-run'],
      ['Both, as JSON', '$0 cache prune --older-than 30d --max-size 50GB --json'],
    ],
  });

  olderThan = stringOption(PRUNE_OPTIONS.olderThan);
  maxSize = stringOption(PRUNE_OPTIONS.maxSize);
  dryRun = switchOption(IMAGE_OPTIONS.dryRun);
  json = switchOption(IMAGE_OPTIONS.json);

  protected async perform(): Promise<number> {
    if (this.olderThan === undefined && this.maxSize === undefined) {
      throw new UsageError('cache prune needs --older-than DURATION, --max-size BYTES, or both', 'bbox cache gc removes only what nothing refers to');
    }
    const { parseDuration } = await import('@broodbox/image');
    const maxAge = this.olderThan === undefined ? undefined : parseDuration(this.olderThan);
    const maxBytes = this.maxSize === undefined ? undefined : parseByteSize(this.maxSize);
    if (this.maxSize !== undefined && maxBytes === undefined) throw new UsageError(`--max-size ${JSON.stringify(this.maxSize)} is not a size; use ${BYTE_SIZE_FORMS}`);
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    const report = await cache.evict({ ...(maxAge !== undefined ? { maxAge } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}), dryRun: this.dryRun });
    if (this.json) {
      const removed = report.removed.map((r) => ({ kind: r.kind, id: r.id, bytes: r.bytes }));
      this.context.stdout.write(JSON.stringify({ dryRun: this.dryRun, removed, skipped: report.skipped, bytesFreed: report.bytesFreed }) + '\n');
      return 0;
    }
    const verb = this.dryRun ? 'Would remove' : 'Removed';
    const shown = report.removed.filter((r) => r.kind === 'entry' || r.kind === 'ref' || r.kind === 'layer');
    if (shown.length === 0) {
      this.context.stdout.write(`Nothing to prune in ${cache.dir}.\n`);
      return 0;
    }
    const lines = shown.map((r) => `  ${r.kind.padEnd(6)} ${r.id.startsWith('sha256:') ? shortDigest(r.id) : r.id}${r.bytes ? `  ${formatBytes(r.bytes)}` : ''}`);
    const images = report.removed.filter((r) => r.kind === 'entry').length;
    const skipped = report.skipped.length ? `Kept ${report.skipped.length} in use by a running pull or VM.\n` : '';
    this.context.stdout.write(`${verb}:\n${lines.join('\n')}\n${verb} ${images} image${images === 1 ? '' : 's'}, ${this.dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytesFreed)}.\n${skipped}`);
    return 0;
  }
}
