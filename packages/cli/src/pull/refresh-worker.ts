// The detached process of `bbox pull --pull background` (see background-refresh.ts): re-resolves
// one ref under `always`, at most one per ref at a time, and leaves a report for the next bbox
// command when it fails. Its stdout and stderr are the ref's log in the cache.
import { rm, writeFile, rename } from 'node:fs/promises';
import type { RefreshJob } from './background-refresh.js';
import { failureFile, type RefreshFailure } from './refresh-failures.js';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} [pid ${process.pid}] ${line}\n`);
}

async function recordFailure(job: RefreshJob, err: unknown): Promise<void> {
  const e = err as { message?: string; code?: string };
  const report: RefreshFailure = { ref: job.ref, at: new Date().toISOString(), message: e?.message ?? String(err), log: job.log };
  if (job.platform) report.platform = job.platform;
  if (typeof e?.code === 'string') report.code = e.code;
  const path = failureFile(job.cacheDir, job.key);
  await writeFile(`${path}.${process.pid}.tmp`, JSON.stringify(report) + '\n', { mode: 0o600 });
  await rename(`${path}.${process.pid}.tmp`, path);
}

async function refresh(job: RefreshJob): Promise<number> {
  const [lib, { resolveSettings }, { pullOptionsFrom }, { registryCacheOption }] = await Promise.all([
    import('@broodbox/image'),
    import('../config/settings.js'),
    import('./library-pull-options.js'),
    import('../registry-cache/pull-hook.js'),
  ]);
  const cache = new lib.Cache(job.cacheDir);
  const lockName = `refresh-${job.key}`;
  log(`refresh of ${job.ref} started`);
  try {
    return await cache.withLock(
      lockName,
      async () => {
        // The command's settings, read again from its flags, working directory and environment.
        const settings = await resolveSettings({ ...job.flags, cacheDir: job.cacheDir, platform: job.platform }, { cwd: job.cwd, env: process.env });
        const io = { stdout: process.stdout, stderr: process.stdout, env: process.env, cwd: job.cwd };
        const r = await lib.pullWithFetcher(job.ref, {
          ...pullOptionsFrom(settings, cache, new AbortController().signal),
          ...(await registryCacheOption(settings, io)),
          policy: 'always',
        });
        // A refresh that worked makes an older failure moot.
        await rm(failureFile(job.cacheDir, job.key), { force: true });
        log(`refresh of ${job.ref} done: ${r.digest}${r.stats.unchanged ? ' (unchanged)' : ''}`);
        return 0;
      },
      { timeoutMs: 0 },
    );
  } catch (err) {
    if (err instanceof lib.CacheLockedError && err.lock === lockName) {
      log(`refresh of ${job.ref} skipped: another refresh of it is running`);
      return 0;
    }
    log(`refresh of ${job.ref} failed: ${(err as Error)?.message ?? String(err)}`);
    await recordFailure(job, err);
    return 1;
  }
}

process.exitCode = await refresh(JSON.parse(process.argv[2] ?? '{}') as RefreshJob);
