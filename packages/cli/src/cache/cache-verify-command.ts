import { Command, Option } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import { BboxCommand } from '../command-line/base-command.js';
import { shortDigest } from './cache-table.js';
import { ExitCode } from '../output/exit-codes.js';
import type { Cache, VerifyProblem } from '@broodbox/image';
import type { Settings } from '../config/settings.js';

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

      \`--repair\` removes each damaged entry (with its references) and each damaged layer (with the entries built from it), then pulls the references that pointed at them again, under the configured registries. A reference that cannot be pulled again (offline, gone from the registry) is reported; it stays removed and the next \`bbox pull\` fetches it.

      Exits with 1 when damage was found (even if it was repaired), 0 when everything is intact.
    `,
    examples: [
      ['Check the whole cache', '$0 cache verify'],
      ['Check one entry', '$0 cache verify sha256:<digest>'],
      ['Check and repair', '$0 cache verify --repair'],
    ],
  });

  repair = switchOption({ names: '--repair', kind: 'boolean', description: 'Remove damaged entries and layers, then pull their references again' });
  json = switchOption({ names: '--json', kind: 'boolean', description: 'Print the report as one JSON object' });
  digest = Option.String({ name: 'DIGEST', required: false });

  /** What a repair pulls the removed refs with: the command's settings, asking the registry. */
  private async repuller(settings: Settings, cache: Cache): Promise<(ref: string, platform: string) => Promise<unknown>> {
    const [{ pullWithFetcher }, { pullOptionsFrom }] = await Promise.all([import('@broodbox/image'), import('../pull/library-pull-options.js')]);
    const signal = new AbortController().signal;
    return (ref, platform) => pullWithFetcher(ref, { ...pullOptionsFrom(settings, cache, signal), platform, policy: 'always' });
  }

  protected async perform(): Promise<number> {
    const settings = await this.settings();
    const cache = await this.openCache(settings);
    const digest = this.digest ? await (await import('@broodbox/image')).resolveDigest(cache, this.digest) : undefined;
    const report = await cache.verify({ ...(digest ? { digest } : {}), repair: this.repair, ...(this.repair ? { pull: await this.repuller(settings, cache) } : {}) });
    const damaged = report.entries.filter((e) => !e.ok);
    if (this.json) {
      this.context.stdout.write(JSON.stringify(report) + '\n');
    } else {
      for (const e of report.entries) {
        const state = e.ok ? 'ok' : `DAMAGED${e.repaired ? ' (repaired)' : ''}`;
        this.context.stdout.write(`${shortDigest(e.digest)}  ${state}\n`);
        for (const p of e.problems) this.context.stdout.write(problemLine(p));
      }
      for (const r of report.repulled) {
        this.context.stdout.write(r.ok ? `Pulled ${r.ref} again.\n` : `Could not pull ${r.ref} again (${r.error ?? 'unknown error'}); the next bbox pull fetches it.\n`);
      }
      this.context.stdout.write(`${report.entries.length} checked, ${damaged.length} damaged.\n`);
    }
    return damaged.length > 0 ? ExitCode.failure : ExitCode.ok;
  }
}
