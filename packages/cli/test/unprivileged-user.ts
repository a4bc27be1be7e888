// An unprivileged user for tests that run bbox without root (tests themselves run as root), and a
// copy of the built CLI that user can run. The checkout may sit where that user cannot read (a
// 0700 home or work directory), so the CLI is bundled with esbuild into one file in a directory of
// the test's own, made readable to all: nothing the user runs is read from the checkout.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The account the tests create; a fixed name, so runs reuse it. */
export const TEST_USER = 'bbox-rootless';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Creates the user (with a home of its own) unless it exists; idempotent. */
export function ensureTestUser(): TestUser {
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', TEST_USER], { stdio: 'ignore' });
  }
  const [, , uid, gid, , home] = execFileSync('getent', ['passwd', TEST_USER], { encoding: 'utf8' }).trim().split(':');
  return { name: TEST_USER, uid: Number(uid), gid: Number(gid), home: home! };
}

const cliPkg = fileURLToPath(new URL('..', import.meta.url));

/**
 * The built CLI (packages/cli/dist, `pnpm run build` first) as one ES module under `dir`, with
 * the package.json it reads its version from. Returns the path of the bundle.
 */
export async function bundleCli(dir: string): Promise<string> {
  const out = join(dir, 'cli', 'dist', 'main.mjs');
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
  writeFileSync(join(dir, 'cli', 'package.json'), readFileSync(join(cliPkg, 'package.json')));
  for (const p of [dir, join(dir, 'cli'), join(dir, 'cli', 'dist')]) chmodSync(p, 0o755);
  chmodSync(out, 0o644);
  return out;
}

/**
 * A copy of a kernel directory the user can read (the fetched kernel usually sits in root's
 * 0700 home): hardlinks where the file system allows, a copy otherwise.
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

/** Makes `path` (and the directories it creates) belong to `user`. */
export function giveTo(user: TestUser, ...paths: string[]): void {
  for (const p of paths) {
    mkdirSync(p, { recursive: true });
    chownSync(p, user.uid, user.gid);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node BUNDLE ARGS` as `user` (or as root when `user` is undefined), with `env` as the
 * whole environment: a HOME of the user's own, PATH as given, no NODE_OPTIONS (the test runner's
 * preload is read from the checkout).
 */
export function runCli(bundle: string, args: string[], opts: { user?: TestUser; env: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Through `env -u`: the test runner adds NODE_OPTIONS (a preload from the checkout) to every child's environment.
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, bundle, ...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
