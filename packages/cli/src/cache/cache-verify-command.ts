import { Command, Option } from 'clipanion';
import { BboxCommand } from '../command-line/base-command.js';
import { shortDigest } from './cache-table.js';
import { ExitCode } from '../output/exit-codes.js';
import type { VerifyProblem } from '@broodbox/image';

/** `changed  etc/passwd (mode)`: the field only, so a line stays short; --json has the values. */
function problemLine(p: VerifyProblem): string {
  return `    ${p.kind.padEnd(8)} ${p.path || '/'}${p.field ? ` (${p.field})` : ''}\n`;
}

/** `bbox cache verify`: re-checks cached rootfs trees against what was recorded when they were made. */
export class CacheVerifyCommand extends BboxCommand {
  static override paths = [['cache', 'verify']];

  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Check cached images for changed, missing or extra files',
    details: `
      Re-checks every cached rootfs (or the one given by DIGEST) against what was recorded when it was built, and lists each changed, missing or extra path.

      \`--repair\` removes or re-pulls a damaged entry (and its references) so that the next pull is clean.

      Exits with 1 when damage was found (even if it was repaired), 0 when everything is intact.
    `,
    examples: [
      ['Check the whole cache', '$0 cache verify'],
      ['Check one entry', '$0 cache verify sha256:<digest>'],
      ['Check and repair', '$0 cache verify --repair'],
    ],
  });

  repair = Option.Boolean('--repair', false, { description: 'Remove or re-pull damaged entries' });
  json = Option.Boolean('--json', false, { description: 'Print the report as one JSON object' });
  digest = Option.String({ name: 'DIGEST', required: false });

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    const report = await cache.verify({ ...(this.digest ? { digest: this.digest } : {}), repair: this.repair });
    const damaged = report.entries.filter((e) => !e.ok);
    if (this.json) {
      this.context.stdout.write(JSON.stringify(report) + '\n');
    } else {
      for (const e of report.entries) {
        const state = e.ok ? 'ok' : `DAMAGED${e.repaired ? ' (repaired)' : ''}`;
        this.context.stdout.write(`${shortDigest(e.digest)}  ${state}\n`);
        for (const p of e.problems) this.context.stdout.write(problemLine(p));
      }
      this.context.stdout.write(`${report.entries.length} checked, ${damaged.length} damaged.\n`);
    }
    return damaged.length > 0 ? ExitCode.failure : ExitCode.ok;
  }
}
