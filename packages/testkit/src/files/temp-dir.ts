import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Anything that runs cleanup when a test ends (a tap `t`). */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Makes a fresh temp dir that is removed when the test `t` ends. */
export async function tempDir(t: Teardown, prefix = 'bbox-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
