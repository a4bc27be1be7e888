// Start of `bbox images`, bundled with what it imports into one CommonJS file
// (dist/images-entry.cjs, made by scripts/bundle-pull-entry.mjs), as `bbox pull` is: the listing
// reads a few small files, and most of its cost would be Node loading modules. A command line it
// does not read, anything the bundle does not hold (a config file not validated before, a
// leftover to clean) and any error go to the full command line, which starts over.
import { parseImagesArgv } from './images-argv.js';
import { exitWhenFlushed } from '../output/exit-when-flushed.js';
import type { ImagesRequest } from './images-action.js';

async function answer(req: ImagesRequest): Promise<number | undefined> {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  try {
    const { printImages } = await import('./images-action.js');
    // Nothing is written on stdout before the listing is complete, so a hand-off starts clean.
    return await printImages(req, io);
  } catch {
    // A module the bundle left out, or an error: the full command line runs, and words any error.
    return undefined;
  }
}

async function start(): Promise<void> {
  const req = parseImagesArgv(process.argv.slice(2));
  const code = req ? await answer(req) : undefined;
  if (code === undefined) await import('../main.js');
  else exitWhenFlushed(code);
}

void start();
