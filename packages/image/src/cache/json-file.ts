import { readFile } from 'node:fs/promises';
import { CacheCorruptError } from '../errors/cache-errors.js';

/** A JSON file the cache wrote, parsed; undefined when absent. @throws CacheCorruptError when it does not parse. */
export async function readJsonFile(path: string, what = 'not valid JSON'): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CacheCorruptError(path, what, { cause: err });
  }
}
