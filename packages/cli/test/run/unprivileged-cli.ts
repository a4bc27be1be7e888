// A copy of the built CLI that an unprivileged test user can run. The checkout may sit where that
// user cannot read (a 0700 home or work directory), so the CLI is bundled with esbuild into one
// file in a directory of the test's own, readable to all: nothing the user runs is read from the
// checkout. (A copy of dist/ would still load its dependencies from the checkout's node_modules.)
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cliPkg = fileURLToPath(new URL('../..', import.meta.url));
const imageSrc = join(cliPkg, '..', 'image', 'src');
/** The worker threads of @broodbox/image (started with startWorker), as paths under its src/. */
export const WORKER_THREADS = ['layers/store-thread', 'compose/plan-thread', 'verify/fs-thread'];

/**
 * The built CLI (packages/cli/dist, `pnpm run build` first) as one ES module under `dir`, beside
 * the package.json it reads its version from. Returns the path of the bundle.
 */
export async function bundleCli(dir: string): Promise<string> {
  // One folder below dist/, as command-line/version.ts is, so its ../../package.json is the CLI's.
  const distDir = join(dir, 'cli', 'dist', 'bundle');
  const out = join(distDir, 'main.mjs');
  await build({
    entryPoints: [join(cliPkg, 'dist', 'main.js')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    // CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __bboxRequire } from 'node:module'; const require = __bboxRequire(import.meta.url);" },
  });
  // The image library's worker threads load from files beside the module that starts them: here,
  // beside the bundle (ES modules, as the CLI's package.json says its .js files are).
  for (const thread of WORKER_THREADS) {
    const threadOut = join(distDir, `${thread.split('/')[1]!}.js`);
    await build({ entryPoints: [join(imageSrc, `${thread}.ts`)], outfile: threadOut, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
    chmodSync(threadOut, 0o644);
  }
  writeFileSync(join(dir, 'cli', 'package.json'), readFileSync(join(cliPkg, 'package.json')));
  for (const p of [dir, join(dir, 'cli'), join(dir, 'cli', 'dist'), distDir]) chmodSync(p, 0o755);
  chmodSync(out, 0o644);
  return out;
}

/**
 * A copy of a kernel directory the user can read (the fetched kernel usually sits in root's 0700
 * home): hardlinks where the file system allows, a copy otherwise.
 */
export function readableKernelDir(kernelDir: string, dir: string): string {
  const dest = join(dir, 'kernel');
  try {
    execFileSync('cp', ['-al', kernelDir, dest], { stdio: 'ignore' });
  } catch {
    cpSync(kernelDir, dest, { recursive: true });
  }
  execFileSync('chmod', ['-R', 'a+rX', dest]);
  return dest;
}
