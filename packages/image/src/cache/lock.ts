import { createHash, randomBytes } from 'node:crypto';
import { lstat, lutimes, readlink, rm, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CacheLockedError } from '../errors/cache-errors.js';
import { currentOwner, ownerState, type Owner } from './process-owner.js';

/**
 * Cross-process locks in `locks/`. A lock is a symlink whose target records its owner (pid,
 * process start time, pid namespace, boot id, host name, a random nonce): creating a symlink is
 * atomic and fails when the name exists, and the record is read in one readlink, never half-written.
 *
 * A waiter that finds the owner certainly dead (see {@link ownerState}) takes the lock over at
 * once. An owner that cannot be checked (another host or pid namespace) is judged by the lock's
 * mtime, which its holder refreshes. Removing a lock that is not one's own needs a claim: a symlink
 * named after that lock's exact record, made exclusively; its maker reads the lock again and
 * removes it only if it still holds that record. A lock changes only by its owner's release, a
 * creation (when the name is free) or a claimed removal, so of all waiters that saw the same dead
 * owner at most one removes it, and none removes a lock that replaced it. A claim left by a breaker
 * that died is itself broken the same way.
 */

/** How a lock is taken. */
export interface LockOptions {
  /**
   * A lock whose owner cannot be checked (another host or pid namespace) and that was not refreshed
   * for this long is taken over (default 10 s; the holder refreshes it every half of that). A dead
   * owner's lock on this host is taken over at once; a live one's is never.
   */
  staleMs?: number;
  /** Give up with {@link CacheLockedError} after this long (default: wait as long as the holder lives). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The previous holder of a lock that was taken over rather than found free. */
export interface LockTakeover {
  /** The owner its lock recorded; undefined for a lock that records none (left by an older bbox). */
  owner: Owner | undefined;
  /**
   * `dead`: the owner ran on this host and is gone (pid gone or reused). `stale`: the owner could
   * not be checked and the lock had not been refreshed for `staleMs`.
   */
  reason: 'dead' | 'stale';
}

/** Releases a held lock (idempotent; never removes a lock that is no longer this one's). */
export interface LockRelease {
  (): Promise<void>;
  /** Set when this lock was taken over from a dead or stale holder. */
  readonly takeover: LockTakeover | undefined;
}

/** What a section run under {@link withLock} learns about its lock. */
export interface HeldLock {
  /** Set when the lock was taken over from a dead or stale holder. */
  readonly takeover: LockTakeover | undefined;
}

export const DEFAULT_LOCK_STALE_MS = 10_000;
const FIRST_RETRY_MS = 20;
// A waiter learns of a release only by polling: a short ceiling keeps a second pull of the same
// image from idling long after the first published it; a poll is one symlink call, nearly free.
const MAX_RETRY_MS = 100;
// Each level is a breaker killed inside a window of a few system calls; deeper means give up for now.
const MAX_CLAIM_DEPTH = 4;

/** File name of a lock: readable for digests (`image-sha256-…`), hashed for anything odd. */
export function lockFileName(name: string): string {
  const safe = name.replace(/:/g, '-');
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(safe)) return `${safe}.lock`;
  return `h-${createHash('sha256').update(name).digest('hex')}.lock`;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** What was found at a lock (or claim) path. `key` is unique to one lock's lifetime. */
interface Found {
  key: string;
  owner: Owner | undefined;
  mtimeMs: number;
}

function newRecord(): string {
  const me = currentOwner();
  return JSON.stringify({ v: 1, pid: me.pid, start: me.start, ns: me.ns, boot: me.boot, host: me.host, nonce: randomBytes(12).toString('hex') });
}

function parseRecord(text: string): Owner | undefined {
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    const nums = [r.pid, r.start, r.ns];
    if (r.v !== 1 || !nums.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return undefined;
    const owner: Owner = { pid: r.pid as number, start: r.start as number, ns: r.ns as number };
    if (typeof r.boot === 'string') owner.boot = r.boot;
    if (typeof r.host === 'string') owner.host = r.host;
    return owner;
  } catch {
    return undefined;
  }
}

async function find(path: string): Promise<Found | undefined> {
  let key: string | undefined;
  try {
    key = await readlink(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    // Not a symlink: the lock directory of an older bbox, or debris; judged by its age alone.
    if (errno(err) !== 'EINVAL') throw err;
  }
  // After the readlink: should the lock be replaced in between, this mtime is the newer one's,
  // which errs towards waiting.
  const st = await lstat(path).catch((err: unknown) => {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return undefined;
  key ??= `inode:${st.ino}:${st.mtimeMs}`;
  return { key, owner: parseRecord(key), mtimeMs: st.mtimeMs };
}

function judge(found: Found, staleMs: number): 'alive' | LockTakeover['reason'] {
  const state = found.owner ? ownerState(found.owner) : 'unknown';
  if (state !== 'unknown') return state;
  return Date.now() - found.mtimeMs > staleMs ? 'stale' : 'alive';
}

/** Creates `path` holding `record`; false when the name is taken. */
async function create(path: string, record: string): Promise<boolean> {
  try {
    await symlink(record, path);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

async function removeIfMine(path: string, record: string): Promise<void> {
  const now = await readlink(path).catch(() => undefined);
  if (now === record) await unlink(path).catch(() => undefined);
}

function claimPath(path: string, found: Found): string {
  const h = createHash('sha256').update(`${basename(path)}\0${found.key}`).digest('hex').slice(0, 32);
  return join(dirname(path), `c-${h}.claim`);
}

/** Takes the claim on `found`: true when this process holds it (as `record`). */
async function takeClaim(claim: string, record: string, staleMs: number, depth: number): Promise<boolean> {
  if (await create(claim, record)) return true;
  const other = await find(claim);
  // Gone: its maker finished, so the lock it judged has changed; the caller starts again.
  if (!other || judge(other, staleMs) === 'alive' || depth >= MAX_CLAIM_DEPTH) return false;
  return (await breakLock(claim, other, staleMs, depth + 1)) && create(claim, record);
}

/** Removes the lock at `path` if it still is `found` and this process wins the claim on it. */
async function breakLock(path: string, found: Found, staleMs: number, depth = 0): Promise<boolean> {
  const claim = claimPath(path, found);
  const record = newRecord();
  if (!(await takeClaim(claim, record, staleMs, depth))) return false;
  try {
    if ((await find(path))?.key !== found.key) return false;
    // rm, not unlink: an older bbox's lock is a directory. A symlink is removed, never followed.
    await rm(path, { recursive: true, force: true });
    return true;
  } finally {
    await removeIfMine(claim, record);
  }
}

function holding(path: string, record: string, staleMs: number, takeover: LockTakeover | undefined): LockRelease {
  // The refresh matters only to waiters that cannot check this process (another host or pid
  // namespace); they judge it by the lock's mtime.
  const refresh = async () => {
    if ((await readlink(path).catch(() => undefined)) !== record) return;
    const now = new Date();
    await lutimes(path, now, now).catch(() => undefined);
  };
  const timer = setInterval(() => void refresh(), Math.max(1, Math.floor(staleMs / 2)));
  timer.unref();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    await removeIfMine(path, record);
  };
  return Object.assign(release, { takeover });
}

/**
 * Takes the lock if it is free, or its holder is dead or stale, right now; undefined when a live
 * process (possibly this one) holds it.
 */
export async function tryLock(locksDir: string, name: string, opts: LockOptions = {}): Promise<LockRelease | undefined> {
  const path = join(locksDir, lockFileName(name));
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const record = newRecord();
  let takeover: LockTakeover | undefined;
  // Bounded: each round either takes the lock, finds a live holder, or removed a dead one.
  for (let round = 0; round < 3; round++) {
    if (await create(path, record)) return holding(path, record, staleMs, takeover);
    const found = await find(path);
    if (!found) continue;
    const verdict = judge(found, staleMs);
    if (verdict === 'alive' || !(await breakLock(path, found, staleMs))) return undefined;
    takeover = { owner: found.owner, reason: verdict };
  }
  return undefined;
}

/** Who holds the lock `name`, for messages; undefined when free or unrecorded. */
export async function lockHolder(locksDir: string, name: string): Promise<Owner | undefined> {
  return (await find(join(locksDir, lockFileName(name))).catch(() => undefined))?.owner;
}

function describeHolder(owner: Owner | undefined): string {
  if (!owner) return '';
  return ` by pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ''}`;
}

/** Waits for the lock, polling with backoff; a dead holder's lock is taken over at once. */
export async function acquireLock(locksDir: string, name: string, opts: LockOptions = {}): Promise<LockRelease> {
  const started = Date.now();
  let wait = FIRST_RETRY_MS;
  for (;;) {
    opts.signal?.throwIfAborted();
    const release = await tryLock(locksDir, name, opts);
    if (release) return release;
    if (opts.timeoutMs !== undefined && Date.now() - started >= opts.timeoutMs) {
      throw new CacheLockedError(name, `is still held${describeHolder(await lockHolder(locksDir, name))} after ${opts.timeoutMs} ms`);
    }
    await delay(wait, undefined, opts.signal ? { signal: opts.signal } : {});
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

/** Runs `fn` holding the cross-process lock `name`, released however `fn` ends. */
export async function withLock<T>(locksDir: string, name: string, fn: (lock: HeldLock) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const release = await acquireLock(locksDir, name, opts);
  try {
    return await fn({ takeover: release.takeover });
  } finally {
    await release();
  }
}
