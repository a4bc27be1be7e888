import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes allocated on disk under `dir` (0 when it does not exist). */
export async function diskUsage(dir: string): Promise<number> {
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.blocks * 512;
  const names = await readdir(dir).catch(() => [] as string[]);
  let total = st.blocks * 512;
  for (const n of names) total += await diskUsage(join(dir, n));
  return total;
}
