import { Command } from 'clipanion';
import type { Cache } from '@broodbox/image';
import { reportError, warn, type CommandIo } from '../output/command-io.js';
import { stringOption } from './clipanion-options.js';
import { COMMON_OPTIONS } from './common-options.js';
import { resolveSettings, type SettingFlags, type Settings } from '../config/settings.js';

/**
 * What every bbox command shares: `--config`, `--cache-dir`, settings resolution, and one place
 * where errors become a message on stderr and an exit code (clipanion would print them on stdout).
 */
export abstract class BboxCommand extends Command {
  configFile = stringOption(COMMON_OPTIONS.config);
  cacheDir = stringOption(COMMON_OPTIONS.cacheDir);

  /** The command's work; returns the exit code. */
  protected abstract perform(): Promise<number>;

  async execute(): Promise<number> {
    try {
      return await this.perform();
    } catch (err) {
      return this.fail(err);
    }
  }

  protected io(): CommandIo {
    return { stdout: this.context.stdout, stderr: this.context.stderr, env: this.context.env, cwd: process.cwd() };
  }

  protected fail(err: unknown): number {
    return reportError(this.io(), err);
  }

  protected warn(message: string): void {
    warn(this.io(), message);
  }

  protected settings(flags: Omit<SettingFlags, 'config' | 'cacheDir'> = {}): Promise<Settings> {
    return resolveSettings({ ...flags, config: this.configFile, cacheDir: this.cacheDir }, { cwd: process.cwd(), env: this.context.env });
  }

  /** The cache the settings name; a background refresh that failed since the last command is reported here, once. */
  protected async openCache(settings: Settings): Promise<Cache> {
    const [{ Cache }, { reportFailedRefreshes }] = await Promise.all([import('@broodbox/image'), import('../pull/refresh-failures.js')]);
    const cache = new Cache(settings.cacheDir?.value);
    await reportFailedRefreshes(cache.dir, this.io());
    return cache;
  }
}
