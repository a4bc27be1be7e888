import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { teeTempDir } from './storage-paths.js';
import type { StoredBlob } from './stored-log.js';

/** How long distribution 2.8's proxy keeps what it stored (`repositoryTTL`, from the time it stored it). */
export const PROXY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** distribution's scheduler entry type of a blob (`entryTypeBlob`). */
const BLOB_ENTRY = 0;

interface SchedulerEntry {
  Key: string;
  ExpiryData: string;
  EntryType: number;
}

/** The proxy's expiry schedule, kept in the storage root (`/scheduler-state.json` of its driver). */
export function schedulerStateFile(dataDir: string): string {
  return join(dataDir, 'scheduler-state.json');
}

/**
 * Gives the blobs bbox stored into a cache the expiry the cache gives the blobs it stores itself:
 * an entry `<repository>@<digest>` expiring a week after the blob was stored, added to the
 * scheduler's state file unless it has one. The registry reads that file only when it starts and
 * rewrites it from memory while it runs, so this is done just before it starts. Entries already
 * past their time are left out (the blob would have gone already). A state file that cannot be
 * read as JSON is left alone: the registry refuses to start on a bad one, and it is the registry's.
 * Returns how many entries were added.
 */
export async function scheduleStoredBlobs(dataDir: string, stored: StoredBlob[], now = Date.now()): Promise<number> {
  if (stored.length === 0) return 0;
  const file = schedulerStateFile(dataDir);
  let entries: Record<string, SchedulerEntry> = {};
  try {
    const text = await readFile(file, 'utf8');
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 0;
    entries = parsed as Record<string, SchedulerEntry>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 0;
  }
  let added = 0;
  for (const b of stored) {
    const key = `${b.repository}@${b.digest}`;
    const expiry = Date.parse(b.at) + PROXY_TTL_MS;
    if (Object.hasOwn(entries, key) || !Number.isFinite(expiry) || expiry <= now) continue;
    entries[key] = { Key: key, ExpiryData: new Date(expiry).toISOString(), EntryType: BLOB_ENTRY };
    added++;
  }
  if (added === 0) return 0;
  const tempDir = teeTempDir(dataDir);
  await mkdir(tempDir, { recursive: true, mode: 0o700 });
  const tmp = join(tempDir, `scheduler.${process.pid}.${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, JSON.stringify(entries), { mode: 0o600, flag: 'wx' });
  await rename(tmp, file).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
  return added;
}
