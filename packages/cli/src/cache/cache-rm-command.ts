import { Command, Option } from 'clipanion';
import type { RemoveImageReport } from '@broodbox/image';
import { BboxCommand } from '../command-line/base-command.js';
import { switchOption } from '../command-line/clipanion-options.js';
import { IMAGE_OPTIONS, TARGET_HELP } from '../images/image-options.js';
import { formatBytes } from '../output/byte-size.js';
import { describeError } from '../output/errors.js';
import { shortDigest } from './cache-table.js';

function textReport(r: RemoveImageReport, dryRun: boolean): string {
  const verb = dryRun ? 'Would remove' : 'Removed';
  const lines: string[] = [];
  for (const item of r.removed) {
    const id = item.id.startsWith('sha256:') ? shortDigest(item.id) : item.id;
    if (item.kind === 'ref') lines.push(`${dryRun ? 'Would untag' : 'Untagged'}: ${id}`);
    else if (item.kind === 'entry') lines.push(`${verb} image ${id} (${formatBytes(item.bytes)})`);
    else if (item.kind === 'layer') lines.push(`${verb} layer ${id} (${formatBytes(item.bytes)})`);
  }
  for (const d of r.kept) lines.push(`Kept image ${shortDigest(d)}: other references still point to it`);
  for (const s of r.skipped) lines.push(`Left ${s.kind} ${shortDigest(s.id)}: a running pull or VM started using it`);
  return lines.join('\n') + '\n';
}

function jsonReport(r: RemoveImageReport): Record<string, unknown> {
  return {
    target: r.target,
    digest: r.digest ?? null,
    dryRun: r.dryRun,
    removed: r.removed.map((i) => ({ kind: i.kind, id: i.id, bytes: i.bytes })),
    kept: r.kept,
    skipped: r.skipped,
    bytesFreed: r.bytesFreed,
  };
}

/** `bbox cache rm` (and `bbox rmi`): removes cached images by reference or digest. */
export class CacheRmCommand extends BboxCommand {
  static override paths = [['cache', 'rm'], ['rmi']];

  static override usage = Command.Usage({
    category: 'Images',
    description: 'Remove cached images by reference or digest',
    details: `
      Removes each REF or DIGEST from the cache, as \`docker rmi\` does: first its reference records (a REF is removed for every platform it was pulled for), then each image (rootfs entry) that no other reference uses, its index aliases, and the layers no remaining image was built from.

      ${TARGET_HELP}

      A REF whose image other references also point to is only untagged; the image stays for them. A DIGEST names the image itself: when several references point to it, it is refused unless \`--force\`, which removes those references too. \`--force\` never removes an image that a running \`bbox run\` VM or pull uses: that is refused with the process id and command that hold it, and nothing is removed for that argument.

      Each argument is handled on its own; the exit code is that of the first failure (3: no such image, 1: in use, 2: ambiguous or refused).
    `,
    examples: [
      ['Remove an image by reference', '$0 cache rm 127.0.0.1:5000/app:v1'],
      ['The same, docker style', '$0 rmi 127.0.0.1:5000/app:v1'],
      ['By digest prefix, with every reference to it', '$0 rmi --force 3f2a9c1b7d0e'],
      ['See what would go', '$0 cache rm --dry-run app:v1'],
    ],
  });

  force = switchOption({ names: '-f,--force', kind: 'boolean', description: 'Remove an image named by digest even when several references point to it (never one a running process uses)' });
  dryRun = switchOption(IMAGE_OPTIONS.dryRun);
  json = switchOption(IMAGE_OPTIONS.json);
  targets = Option.Rest({ name: 'REF|DIGEST', required: 1 });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    const { removeImage } = await import('@broodbox/image');
    let exitCode = 0;
    for (const target of this.targets) {
      try {
        const report = await removeImage(cache, target, { force: this.force, dryRun: this.dryRun });
        this.context.stdout.write(this.json ? JSON.stringify(jsonReport(report)) + '\n' : textReport(report, this.dryRun));
      } catch (err) {
        const code = this.fail(err);
        if (this.json) {
          const { lines } = describeError(err, false);
          const errorCode = (err as { code?: string }).code ?? null;
          this.context.stdout.write(JSON.stringify({ target, error: { code: errorCode, message: lines[0]!.replace(/^bbox: /, '') } }) + '\n');
        }
        if (exitCode === 0) exitCode = code;
      }
    }
    return exitCode;
  }
}
