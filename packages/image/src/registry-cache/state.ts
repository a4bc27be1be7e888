import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** What a running cache records about itself in its state file. */
export interface CacheState {
  upstream: string;
  remoteUrl: string;
  pid: number;
  port: number;
  /** Sent back by the cache in a response header: proves a port is this instance. */
  nonce: string;
  /** ISO time it started. */
  startedAt: string;
}

function isState(v: unknown): v is CacheState {
  const s = v as Partial<CacheState> | null;
  return !!s && typeof s === 'object' && typeof s.upstream === 'string' && typeof s.remoteUrl === 'string' && Number.isSafeInteger(s.pid) && (s.pid ?? 0) > 1 &&
    Number.isSafeInteger(s.port) && (s.port ?? 0) > 0 && (s.port ?? 0) < 65536 && typeof s.nonce === 'string' && typeof s.startedAt === 'string';
}

/** The state file's record; undefined when missing or not a valid record (then it is stale by definition). */
export async function readState(file: string): Promise<CacheState | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return isState(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the record atomically (0600): a reader sees the old record or the new one. */
export async function writeState(file: string, state: CacheState): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

export async function removeState(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** A fresh instance nonce. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}
