import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CacheLockedError } from './cache-errors.js';

/** How a lock is taken. */
export interface LockOptions {
  /**
   * A lock not refreshed for this long belongs to a dead process and is taken over (default 10 s;
   * the holder refreshes it every half of that; proper-lockfile's minimum is 2 s).
   */
  staleMs?: number;
  /** Give up with {@link CacheLockedError} after this long (default: wait as long as the holder lives). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_LOCK_STALE_MS = 10_000;
const FIRST_RETRY_MS = 20;
// A waiter learns of a release only by polling: a short ceiling keeps a second pull of the same
// image from idling long after the first published it; a poll is one mkdir, nearly free.
const MAX_RETRY_MS = 100;

/** File name of a lock: readable for digests (`image-sha256-…`), hashed for anything odd. */
export function lockFileName(name: string): string {
  const safe = name.replace(/:/g, '-');
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(safe)) return `${safe}.lock`;
  return `h-${createHash('sha256').update(name).digest('hex')}.lock`;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

async function attempt(path: string, staleMs: number): Promise<(() => Promise<void>) | undefined> {
  try {
    // Loaded on first lock: cache hits take no lock and should not pay for the module.
    const { default: lockfile } = await import('proper-lockfile');
    return await lockfile.lock(path, {
      lockfilePath: path,
      realpath: false,
      stale: staleMs,
      retries: 0,
      // The default throws from a timer and kills the process. A lock is only lost when this
      // process stalled past the stale time; the work it guards publishes by atomic rename and
      // tolerates a second publisher, so losing it is safe to ignore.
      onCompromised: () => undefined,
    });
  } catch (err) {
    if (errno(err) === 'ELOCKED') return undefined;
    throw err;
  }
}

/** Takes the lock if it is free (or stale) right now; undefined when another process holds it. */
export async function tryLock(locksDir: string, name: string, opts: LockOptions = {}): Promise<(() => Promise<void>) | undefined> {
  const release = await attempt(join(locksDir, lockFileName(name)), opts.staleMs ?? DEFAULT_LOCK_STALE_MS);
  return release && (() => release().catch(() => undefined));
}

/** Waits for the lock, polling with backoff; a dead holder's lock turns stale and is taken over. */
export async function acquireLock(locksDir: string, name: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const started = Date.now();
  let wait = FIRST_RETRY_MS;
  for (;;) {
    opts.signal?.throwIfAborted();
    const release = await tryLock(locksDir, name, opts);
    if (release) return release;
    if (opts.timeoutMs !== undefined && Date.now() - started >= opts.timeoutMs) {
      throw new CacheLockedError(name, `is still held after ${opts.timeoutMs} ms`);
    }
    await delay(wait, undefined, opts.signal ? { signal: opts.signal } : {});
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

/** Runs `fn` holding the cross-process lock `name`, released however `fn` ends. */
export async function withLock<T>(locksDir: string, name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const release = await acquireLock(locksDir, name, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Lock names shared by the puller and gc: a pull holds them while it builds; gc skips what is locked. */
export const lockNames = {
  image: (digest: string) => `image-${digest}`,
  layer: (diffID: string) => `layer-${diffID}`,
};
