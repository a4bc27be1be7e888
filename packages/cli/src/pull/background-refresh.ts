import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SettingFlags } from '../config/settings.js';
import { refreshKey, refreshStateDir } from './refresh-failures.js';

/**
 * What the detached refresher needs: the ref, and the command's own flags and working directory,
 * from which it resolves the same settings (registries, proxy, TLS, registry caches) as the command.
 */
export interface RefreshJob {
  ref: string;
  platform: string | undefined;
  /** The cache the command used (absolute). */
  cacheDir: string;
  flags: Pick<SettingFlags, 'config' | 'noRegistryCache'>;
  cwd: string;
  /** See refreshKey. */
  key: string;
  log: string;
}

const WORKER = fileURLToPath(new URL('./refresh-worker.js', import.meta.url));

/**
 * Starts `--pull background`'s refresh of `ref` in a detached process that outlives this command:
 * its own session, no stdin, stdout and stderr appended to `refresh/<key>.log` in the cache, not
 * waited for. The worker takes a lock per ref, so a second refresh of the same ref started
 * meanwhile stops at once. Returns the log's path.
 */
export function startBackgroundRefresh(job: Omit<RefreshJob, 'key' | 'log'>): string {
  const dir = refreshStateDir(job.cacheDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = refreshKey(job.ref, job.platform);
  const log = join(dir, `${key}.log`);
  const fd = openSync(log, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [WORKER, JSON.stringify({ ...job, key, log } satisfies RefreshJob)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: process.env,
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  return log;
}
