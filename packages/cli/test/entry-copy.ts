import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));

/** What the stand-in full command line prints (and it exits 7) when a start-up bundle hands off. */
export const HANDED_OFF = 'handed off to the full command line\n';

/**
 * The bin script and one start-up bundle (`dist/<bundle>`) alone, with a dist/main.js that only
 * says it was reached: what this copy answers, the bundle answered without any other file of the
 * package.
 */
export async function entryOnlyCopy(dir: string, bundle: 'pull-entry.cjs' | 'images-entry.cjs'): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'dist'), { recursive: true });
  await copyFile(join(pkg, 'bin', 'bbox.js'), join(dir, 'bin', 'bbox.js'));
  await copyFile(join(pkg, 'bin', 'package.json'), join(dir, 'bin', 'package.json'));
  await copyFile(join(pkg, 'dist', bundle), join(dir, 'dist', bundle));
  await writeFile(join(dir, 'dist', 'main.js'), `process.stdout.write(${JSON.stringify(HANDED_OFF)});\nprocess.exitCode = 7;\n`);
  return join(dir, 'bin', 'bbox.js');
}
