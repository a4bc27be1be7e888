import { appendFile, readFile } from 'node:fs/promises';

/** One blob that bbox fetched from the upstream itself and stored into a cache's storage. */
export interface StoredBlob {
  /** ISO time it was stored. */
  at: string;
  repository: string;
  digest: string;
  size: number;
}

/** Appends one record (a JSON line; the file is 0600). Never throws: the record only feeds counts and expiry. */
export async function recordStored(file: string, blob: StoredBlob): Promise<void> {
  await appendFile(file, `${JSON.stringify(blob)}\n`, { mode: 0o600 }).catch(() => undefined);
}

function isStored(v: unknown): v is StoredBlob {
  const b = v as Partial<StoredBlob> | null;
  return !!b && typeof b.at === 'string' && typeof b.repository === 'string' && typeof b.digest === 'string' && typeof b.size === 'number';
}

/** Every well-formed record (none when the file is missing; a torn last line is skipped). */
export async function readStored(file: string): Promise<StoredBlob[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const out: StoredBlob[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (isStored(v)) out.push(v);
    } catch {
      // A line cut short by a crash.
    }
  }
  return out;
}
