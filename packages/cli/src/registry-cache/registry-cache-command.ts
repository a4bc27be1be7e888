import { Option } from 'clipanion';
import { switchOption } from '../command-line/clipanion-options.js';
import type { RegistryCaches } from '@broodbox/image/registry-cache';
import { BboxCommand } from '../command-line/base-command.js';
import { CliError, UsageError } from '../output/errors.js';
import { ExitCode } from '../output/exit-codes.js';
import { openRegistryCaches } from './caches.js';

/** What the `bbox registry-cache` commands share: `--json`, optional upstream names, the caches. */
export abstract class RegistryCacheCommand extends BboxCommand {
  json = switchOption({ names: '--json', kind: 'boolean', description: 'Print one JSON document on stdout' });
  names = Option.Rest({ name: 'UPSTREAM' });

  protected async caches(opts: { mustBeEnabled?: boolean } = {}): Promise<RegistryCaches> {
    const settings = await this.settings();
    if (opts.mustBeEnabled && !settings.registryCache.enabled.value) {
      throw new CliError(`registry caches are turned off by ${settings.registryCache.enabled.source}`, {
        code: 'REGISTRY_CACHE_DISABLED',
        exitCode: ExitCode.usage,
        hint: 'remove registryCache: false from the config (or BBOX_DISABLE_REGISTRY_CACHE) to use them',
      });
    }
    const caches = await openRegistryCaches(settings, this.context.env);
    for (const n of this.names) {
      if (caches.covers(n)) continue;
      throw new UsageError(`${n} has no registry cache`, `configured upstreams: ${Object.keys(caches.upstreams).join(', ') || 'none'} (registryCache.upstreams in the config)`);
    }
    return caches;
  }

  /** The upstreams named on the command line, or undefined for all. */
  protected selected(): string[] | undefined {
    return this.names.length > 0 ? this.names : undefined;
  }

  protected print(doc: unknown, text: string): void {
    this.context.stdout.write(this.json ? JSON.stringify(doc) + '\n' : text);
  }
}
